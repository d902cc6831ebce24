"""The sampler over one run: started before the model is read (so reading and compiling
show), read once more when the compile returns, moved to the run's clock when the first
request is due, stopped after the last completion; and what the run keeps of it (the summary
block, the status line's text, the raw capture)."""

import os
import sys

from .data import summarize
from .sampler import GPU_UTIL_MS, Sampler

OFF_REASON = "not sampled: util_ms=0 turns the sampler off"
RAW_FILE = "utilization_raw.jsonl"
CAP_NOTE = ("a sample outside 0-100 % is shown capped and marked (utilization.csv's uncapped "
            "column keeps what was measured); each mean weighs what was measured by its "
            "period, which for a busy-time counter is its total change between the first "
            "and the last reading, so it stays true where samples were capped")


def npu_luids(platform=None):
    """OpenVINO's ``DEVICE_LUID`` of the ``NPU`` device on Windows, where it names the NPU's
    PDH adapter; () elsewhere or when OpenVINO has no NPU."""
    if (platform or sys.platform) != "win32":
        return ()
    try:
        import openvino as ov
        return (str(ov.Core().get_property("NPU", "DEVICE_LUID")),)
    except Exception:  # noqa: BLE001 -- no NPU plugin or device: no adapter is the NPU
        return ()


def start_sampler(util_ms, say, gpu_util_ms=GPU_UTIL_MS, util_raw=False):
    """A started Sampler, or None when ``util_ms`` is 0. A reader that fails later is said
    through ``say`` as a warning; the run goes on. ``util_raw`` keeps every reading for
    ``utilization_raw.jsonl``."""
    if not util_ms:
        return None
    return Sampler(util_ms, on_warning=lambda text: say(f"warning: {text}"),
                   gpu_util_ms=gpu_util_ms, capture=util_raw, npu_luids=npu_luids()).start()


def read_now(sampler):
    """A reading of every reader now (the compile has returned), when sampling."""
    if sampler is not None:
        sampler.read_now()


def save_raw(sampler, out, say=None):
    """``utilization_raw.jsonl`` in the folder ``out`` when the sampler kept its readings
    (``util_raw=True``). The run's other files are written by then: a capture that cannot
    be written is said as a warning (through ``say``) and the run keeps them."""
    if sampler is None or sampler.raw is None:
        return None
    from .capture import write_raw
    path = os.path.join(out, RAW_FILE)
    try:
        write_raw(sampler, path)
    except OSError as e:
        if say is not None:
            say(f"warning: {RAW_FILE} not written ({e.strerror or e}); the run's other files "
                f"are in {out}")
        return None
    return path


def stop_sampler(sampler, say=None):
    """Stop ``sampler`` (None and a stopped one are fine) and say, once, which sources could
    not be measured and why."""
    if sampler is None or sampler.stopped:
        return
    sampler.stop()
    if say is not None and sampler.unavailable:
        say("utilization not measured: " + "; ".join(
            f"{source}: {why}" for source, why in sorted(sampler.unavailable.items())))


def summary_block(sampler, util_ms):
    """``summary.json``'s ``utilization``: {period_ms, gpu_period_ms, sources: {source:
    {mean, p50, p95, max, capped}} over the samples that end after the first request was
    due, unavailable: {source: reason}, notes: {source: what it measures}, warnings: [...]}."""
    if sampler is None:
        return {"period_ms": 0, "sources": {}, "unavailable": {"all": OFF_REASON},
                "notes": {}, "warnings": []}
    samples = sampler.samples()
    block = {"period_ms": util_ms, "gpu_period_ms": sampler.gpu_period_s * 1e3,
             "sources": summarize(samples, start_s=0.0),
             "unavailable": dict(sampler.unavailable), "notes": dict(sampler.notes),
             "warnings": list(sampler.warnings)}
    if any(s["capped"] for s in block["sources"].values()):
        block["notes"]["capped"] = CAP_NOTE
    if not block["sources"] and samples["time_s"]:
        block["note"] = ("no sample ended after the first request was due (the run was "
                         "shorter than util_ms); utilization.csv has the earlier ones")
    return block


def now_text(latest):
    """The status line's part: ``cpu 43%  gpu.compute 80%  npu 12%`` from {source: (time_s,
    value)}; the busiest GPU engine class stands for the GPU."""
    parts = []
    if "cpu" in latest:
        parts.append(f"cpu {latest['cpu'][1]:.0f}%")
    # this process's engine classes (the whole card's busiest engine is not this process)
    gpu = [(v, s) for s, (_, v) in latest.items()
           if s.startswith("gpu.") and "adapter" not in s]
    if gpu:
        value, source = max(gpu)
        parts.append(f"{source} {value:.0f}%")
    parts += [f"{s} {v:.0f}%" for s, (_, v) in sorted(latest.items()) if s.startswith("npu")]
    return "  ".join(parts)
