"""Before the first request: find or build the model, check the device, compile.

Every failure here becomes a ``UsageError`` whose one line names the problem and the fix.
"""

import difflib
import os
import re
import time
from xml.etree import ElementTree

import openvino as ov

from . import standin
from .settings import UsageError

DEFAULT_MODEL = "public/googlenet-v1-tf/FP16/googlenet-v1-tf.xml"
STANDIN_NAME = "googlenet-v1-tf-standin-v1"
VIRTUAL_DEVICES = ("AUTO", "MULTI", "BATCH", "HETERO")
KNOWN_DEVICES = ("CPU", "GPU", "NPU")
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


def essential(error):
    """The sentences of an OpenVINO exception without its 'Exception from file:line' lines."""
    lines = [ln.strip() for ln in str(error).splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith("Exception from ")]
    return " ".join(kept) or str(error).strip() or type(error).__name__


def cache_dir():
    """Where the stand-in model is kept: $OVSCHED_CACHE, else the user's cache folder."""
    if os.environ.get("OVSCHED_CACHE"):
        return os.environ["OVSCHED_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") \
        or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ovsched")


def standin_path():
    return os.path.join(cache_dir(), "standin", STANDIN_NAME, "FP16", STANDIN_NAME + ".xml")


def check_model_file(path):
    """Refuse a model path that cannot be an IR before OpenVINO gives a vaguer message."""
    try:
        _check_model_file(path)
    except PermissionError as e:
        raise UsageError(f"cannot read model {path}: permission denied ({e.filename}); "
                         f"check the file's permissions") from None
    except OSError as e:
        raise UsageError(f"cannot read model {path}: {e.strerror or e}") from None


def _check_model_file(path):
    if not os.path.exists(path):
        raise UsageError(f"model not found: {path}; fetch it with the README's omz_downloader "
                         f"and omz_converter commands, or give --model=PATH to an IR .xml")
    if os.path.isdir(path):
        found = sorted(f for f in os.listdir(path) if f.endswith(".xml"))
        hint = f" (it holds {', '.join(found[:3])})" if found else ""
        raise UsageError(f"model {path} is a folder: give the .xml file inside it{hint}")
    if os.path.getsize(path) == 0:
        raise UsageError(f"model {path} is an empty file: download or convert it again")
    if path.lower().endswith(".xml"):
        # Read the XML here: given a broken one, OpenVINO tries every frontend and some
        # print their own errors to the terminal before its message arrives.
        try:
            root = ElementTree.parse(path).getroot()
        except ElementTree.ParseError as e:
            raise UsageError(f"model {path} is not complete XML ({e}): download or convert "
                             f"it again") from None
        if root.tag != "net":
            raise UsageError(f"model {path} is not an OpenVINO IR (its XML starts with "
                             f"<{root.tag}>, not <net>): give the .xml that omz_converter "
                             f"or ovc wrote")
        weights = path[:-4] + ".bin"
        if not os.path.exists(weights):
            raise UsageError(f"weights missing: {weights} is not beside {path}; copy the .bin "
                             f"the converter wrote next to the .xml")


def locate_model(path, is_default):
    """Return (xml_path, standin). The default path falls back to the offline stand-in."""
    if is_default and path == DEFAULT_MODEL and not os.path.exists(path):
        target = standin_path()
        if not os.path.exists(target) or not os.path.exists(target[:-4] + ".bin"):
            print(f"model {path} not found: building a stand-in with random weights at {target}")
            standin.save_fp16(standin.build_googlenet(seed=0), target)
        return target, True
    check_model_file(path)
    return path, False


def read_model(core, path):
    try:
        return core.read_model(path)
    except Exception as e:  # OpenVINO raises RuntimeError and others with file details
        raise UsageError(f"cannot read model {path}: {essential(e)}; is it a complete "
                         f"OpenVINO IR (or ONNX) file?") from None


def make_static(model):
    """Fix a dynamic batch dimension to 1; refuse other dynamic dimensions clearly.

    Returns a note for the user, or None when the model was static already."""
    shapes, changed = {}, []
    for port in model.inputs:
        shape = port.get_partial_shape()
        name = port_name(port)
        if shape.rank.is_dynamic:
            raise UsageError(f"model input {name!r} has a dynamic rank; convert the model "
                             f"with a static input shape")
        dims = list(shape)
        if all(d.is_static for d in dims):
            continue
        if any(d.is_dynamic for d in dims[1:]):
            raise UsageError(f"model input {name!r} has dynamic dimensions {shape}; convert "
                             f"it with a static shape, e.g. ovc MODEL --input "
                             f"\"{name}[1,3,224,224]\"")
        static = ov.PartialShape([1] + [d.get_length() for d in dims[1:]])
        shapes[port] = static
        changed.append(f"{name} {shape} -> {static}")
    if not shapes:
        return None
    model.reshape(shapes)
    return "dynamic batch set to 1: " + "; ".join(changed)


def port_name(port):
    """A port's tensor name, or its node's name when the tensor has none."""
    names = port.get_names()
    return sorted(names)[0] if names else port.get_node().get_friendly_name()


def describe_ports(ports):
    return [{"name": port_name(p), "shape": str(p.get_partial_shape()),
             "type": p.get_element_type().get_type_name()} for p in ports]


def split_device(device):
    """The real device names a device string names, each with its batch text if any."""
    head, _, rest = device.partition(":")
    if head not in VIRTUAL_DEVICES:
        return [(device, None)]
    if not rest:
        return []
    parts = []
    for item in rest.split(","):
        m = re.fullmatch(r"([^()]*)(?:\(([^()]*)\))?", item.strip())
        if m is None:
            raise UsageError(f"cannot read device {device!r}: write a batch size in brackets "
                             f"at the end, e.g. BATCH:CPU(8)")
        parts.append((m.group(1), m.group(2)))
    return parts


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


def check_properties(properties):
    for key, value in properties.items():
        if key in KNOWN_VALUES and value.upper() not in KNOWN_VALUES[key]:
            choices = "/".join(KNOWN_VALUES[key][:3] if key == "PERFORMANCE_HINT"
                               else KNOWN_VALUES[key][:2])
            raise UsageError(f"--{key}={value} is not a valid value; use one of {choices}")
        if key in COUNT_PROPERTIES and not re.fullmatch(r"\d+", value) \
                and not (key == "NUM_STREAMS" and value.upper() == "AUTO"):
            raise UsageError(f"--{key}={value} must be a whole number >= 0, e.g. --{key}=100")


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


def read_property(compiled, name, default=None):
    """A compiled model's property if it supports it, else ``default``."""
    try:
        if name not in compiled.get_property("SUPPORTED_PROPERTIES"):
            return default
        return compiled.get_property(name)
    except Exception:  # some plugins list a property they then cannot report
        return default


def device_text(value):
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
