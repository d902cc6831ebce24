"""Device strings, OpenVINO properties and compiling: everything said to OpenVINO's Core.

Every refusal becomes a ``UsageError`` whose one line names the problem and the fix.
"""

import difflib
import re
import time

from ..derive.device_names import KNOWN_DEVICES, VIRTUAL_DEVICES, split_device
from ..errors import UsageError, essential

# Values OpenVINO documents for the properties these experiments use. AUTO passes a
# malformed value on without a word, so they are checked here for every device.
KNOWN_VALUES = {
    "PERFORMANCE_HINT": ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT"),
    "ALLOW_AUTO_BATCHING": ("YES", "NO", "TRUE", "FALSE"),
    "ENABLE_STARTUP_FALLBACK": ("YES", "NO", "TRUE", "FALSE"),
    "ENABLE_RUNTIME_FALLBACK": ("YES", "NO", "TRUE", "FALSE"),
    "PERF_COUNT": ("YES", "NO", "TRUE", "FALSE"),
}
COUNT_PROPERTIES = ("AUTO_BATCH_TIMEOUT", "PERFORMANCE_HINT_NUM_REQUESTS", "NUM_STREAMS",
                    "INFERENCE_NUM_THREADS")


def plugin_failure(core, name):
    """Why a known plugin has no device here, in OpenVINO's words, or None."""
    try:
        core.get_property(name, "FULL_DEVICE_NAME")
    except Exception as e:  # the plugin's load failure is what the user needs to see
        text = essential(e)
        # 'Cannot load library "/long/path/libopenvino_intel_gpu_plugin.so": libOpenCL.so.1:
        # cannot open shared object file: ...' -> what is missing, without the path
        missing = re.search(r"""Cannot load library ["'][^"']*["']:\s*([^:]+: cannot open """
                            r"shared object file)", text)
        return missing.group(1) if missing else text
    return None


def has_device(core, name):
    """Whether this machine has a device of that type (GPU matches GPU.0 and GPU.1)."""
    base = name.split(".")[0]
    return any(d == name or d.split(".")[0] == base for d in core.available_devices)


def check_device(core, device):
    """Refuse a device this machine cannot run, naming the ones it has."""
    available = list(core.available_devices)
    names = list(dict.fromkeys(available + list(KNOWN_DEVICES) + list(VIRTUAL_DEVICES)))
    listed = ", ".join(available) + " (and AUTO, MULTI:..., BATCH:DEVICE(N) over them)"
    head = device.partition(":")[0]
    if not device or (head not in VIRTUAL_DEVICES and ":" in device):
        raise UsageError(f"cannot read device {device!r}; this machine has {listed}")
    parts = split_device(device)
    if head in ("MULTI", "HETERO", "BATCH") and not parts:
        raise UsageError(f"device {device!r} names no device after '{head}:'; e.g. "
                         f"{head}:{available[0] if available else 'CPU'}"
                         + ("(8)" if head == "BATCH" else ""))
    for name, batch in parts:
        if batch is not None:
            if head != "BATCH":
                raise UsageError(f"device {device!r}: a batch size in brackets only goes with "
                                 f"BATCH:, e.g. BATCH:{name}(8)")
            if not re.fullmatch(r"\s*\d+\s*", batch) or int(batch) < 1:
                raise UsageError(f"device {device!r}: the batch size must be a whole number "
                                 f">= 1, e.g. BATCH:{name}(8)")
        if not name:
            raise UsageError(f"device {device!r} has an empty name in its list; e.g. "
                             f"{head}:{available[0] if available else 'CPU'}")
        base = name.split(".")[0]
        if name in available or (name == base and has_device(core, base)):
            continue
        if base in ("GPU", "NPU"):
            why = plugin_failure(core, base)
            cause = f": its plugin cannot load ({why})" if why else ""
            driver = "an Intel GPU and its OpenCL driver" if base == "GPU" else \
                "an Intel NPU and its driver"
            raise UsageError(f"device {name} is not available on this machine{cause}; it "
                             f"needs {driver}; this machine has {', '.join(available)}: try "
                             f"--device=CPU or --device=BATCH:CPU(8)")
        match = difflib.get_close_matches(name.upper(), names, n=1, cutoff=0.5)
        hint = f" (did you mean {match[0]}?)" if match else ""
        raise UsageError(f"unknown device {name!r}{hint}; this machine has {listed}")


def property_text(value):
    """A property value as the text OpenVINO parses: True -> YES, 4 -> "4"."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_properties(properties):
    """Return the properties as OpenVINO takes them, refusing values it would refuse late.

    Values set at the top of a script may be of any scalar type; the named values are
    case-insensitive here (OpenVINO's are not), so ``latency`` is sent as ``LATENCY``."""
    checked = {}
    for key, value in properties.items():
        text = property_text(value)
        if key in KNOWN_VALUES:
            if text.upper() not in KNOWN_VALUES[key]:
                choices = "/".join(KNOWN_VALUES[key][:3] if key == "PERFORMANCE_HINT"
                                   else KNOWN_VALUES[key][:2])
                raise UsageError(f"--{key}={text} is not a valid value; use one of {choices}")
            text = text.upper()
        if key in COUNT_PROPERTIES and not re.fullmatch(r"\d+", text) \
                and not (key == "NUM_STREAMS" and text.upper() == "AUTO"):
            raise UsageError(f"--{key}={text} must be a whole number >= 0, e.g. --{key}=100")
        checked[key] = text
    return checked


def compile_model(core, model, device, properties):
    """Compile, timing it; OpenVINO's refusal becomes one line."""
    start = time.perf_counter()
    try:
        compiled = core.compile_model(model, device, dict(properties))
    except Exception as e:  # RuntimeError in practice; message carries file:line noise
        shown = " ".join(f"{k}={v}" for k, v in properties.items())
        raise UsageError(f"OpenVINO could not compile the model for {device} with "
                         f"{shown or 'no properties'}: {essential(e)}") from None
    return compiled, time.perf_counter() - start
