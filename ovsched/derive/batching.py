"""What the compiled model says about automatic batching, read back after compiling."""

import os

from . import device_names


def _axis0(port):
    shape = port.get_partial_shape()
    if shape.rank.is_static and shape.rank.get_length() > 0 and shape[0].is_static:
        return shape[0].get_length()
    return None


def runtime_batch(compiled):
    """How many requests the network the device really runs takes at once: the ratio of its
    axis 0 to the model's, read over every input (OpenVINO batches each input whose axis 0
    is 1, not only the first; an input without a batch axis keeps its shape). 1 when no
    input was re-batched; None when unknown."""
    try:
        runtime = list(compiled.get_runtime_model().inputs)
    except Exception:  # not every plugin exposes its runtime model
        return None
    given = list(compiled.inputs)
    if len(runtime) != len(given):
        return None
    ratios = set()
    for mine, theirs in zip(given, runtime):
        a, b = _axis0(mine), _axis0(theirs)
        if a and b and b != a and b % a == 0:
            ratios.add(b // a)
    return ratios.pop() if len(ratios) == 1 else (1 if not ratios else None)


# AUTO and MULTI report neither the batch nor the timeout of the device under them.
HIDDEN = ("AUTO and MULTI hide the batch: get_runtime_model() returns the network of the "
          "first device compiled (AUTO's CPU helper while it runs) and AUTO_BATCH_TIMEOUT "
          "cannot be read through them; run on the device itself (e.g. GPU) to know it")


def candidates(device, available):
    """The real devices a device string may run on: those it lists, or, for a bare AUTO or
    MULTI, every device this machine has."""
    listed = [name for name, _ in device_names.split_device(device)]
    if device.split(":")[0] in ("AUTO", "MULTI") and not listed:
        return list(available)
    return listed


def may_batch(device, properties, available=()):
    """Whether a model compiled for ``device`` with ``properties`` may run batched: always on
    BATCH:, and on a GPU (listed, or among the ``available`` devices a bare AUTO or MULTI may
    pick) under the THROUGHPUT or CUMULATIVE_THROUGHPUT hint unless ALLOW_AUTO_BATCHING is
    off (OpenVINO's implicit automatic batching). Whether it does is known only after
    compiling (``batching_info``)."""
    if device.startswith("BATCH:"):
        return True
    hint = str(properties.get("PERFORMANCE_HINT", "")).upper()
    allowed = str(properties.get("ALLOW_AUTO_BATCHING", "YES")).upper() in ("YES", "TRUE")
    on_gpu = any(name.split(".")[0] == "GPU" for name in candidates(device, available))
    return on_gpu and hint in ("THROUGHPUT", "CUMULATIVE_THROUGHPUT") and allowed


def batching_info(compiled, device, properties, why_unbatched=None, available=()):
    """Batch size and timeout when the compiled model batches; a warning when it fell back.

    ``batching`` is True, False, or None when it cannot be known (then ``unknown`` says
    why): THROUGHPUT on a GPU under AUTO or MULTI may batch, but neither reports it. A bare
    AUTO may pick any of the ``available`` devices, so a GPU among them counts.
    ``why_unbatched`` is what the model shows about a fallback to batch 1, when known."""
    timeout = device_names.read_property(compiled, "AUTO_BATCH_TIMEOUT")
    requested = None
    for _name, batch in device_names.split_device(device):
        if batch:
            requested = int(batch)
    asked = may_batch(device, properties, available)
    if asked and device.startswith(("AUTO", "MULTI")):
        return {"batching": None, "batch_size": None, "requested_batch_size": requested,
                "timeout_ms": None, "unknown": HIDDEN}, None
    # A BATCH model that cannot re-batch the network keeps its BATCH properties but runs
    # the network unbatched: the batch of the network it really runs tells the two apart.
    size = runtime_batch(compiled) if timeout is not None else None
    batching = size is not None and size > 1
    warning = None
    if device.startswith("BATCH:") and requested is None and not batching:
        warning = (f"{device} gives no batch size and the device chose none (a CPU has no "
                   f"OPTIMAL_BATCH_SIZE), so nothing is batched: give one, e.g. {device}(8)")
    elif asked and not batching and requested != 1:  # batch 1 is what BATCH:X(1) asks for
        warning = ("batching was asked for but OpenVINO runs this model unbatched (batch 1): "
                   + (why_unbatched or "the model's batch dimension is probably fixed, e.g. "
                      "by a Reshape to a constant shape; re-export it with a free batch "
                      "dimension"))
    return {"batching": batching, "batch_size": size if batching else None,
            "requested_batch_size": requested,
            "timeout_ms": int(timeout) if batching else None}, warning


def cache_warning(device, properties, available):
    """Warn when AUTO would load an accelerator's cached blob and skip its CPU phase."""
    cache = properties.get("CACHE_DIR")
    if not cache or not device.startswith("AUTO") or not os.path.isdir(cache):
        return None
    listed = [name for name, _ in device_names.split_device(device)] or available
    accelerators = [d for d in available if d.split(".")[0] != "CPU"
                    and any(d == n or d.split(".")[0] == n for n in listed)]
    if not accelerators or not any(f.endswith(".blob") for f in os.listdir(cache)):
        return None
    # a blob's name is a hash that does not say which device wrote it: a CPU blob (the
    # timeline's defaults write one) changes nothing here, an accelerator's does
    return (f"CACHE_DIR={cache} holds compiled blobs: AUTO may skip the CPU start-up phase "
            f"if a {accelerators[0]} blob is among them (it loads that at once), and then no "
            f"device switch shows; use --CACHE_DIR= to be sure to see it")
