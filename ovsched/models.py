"""The model a run uses: find it (or build the offline stand-in), read it, make it static.

Every failure here becomes a ``UsageError`` whose one line names the problem and the fix.
"""

import os
from xml.etree import ElementTree

import openvino as ov

from . import standin
from .errors import UsageError, essential
from .settings import DEFAULT_MODEL

STANDIN_NAME = "googlenet-v1-tf-standin-v1"


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


def locate_model(path, is_default, say=print):
    """Return (xml_path, standin). The default path falls back to the offline stand-in."""
    if is_default and path == DEFAULT_MODEL and not os.path.exists(path):
        target = standin_path()
        if not os.path.exists(target) or not os.path.exists(target[:-4] + ".bin"):
            say(f"model {path} not found: building a stand-in with random weights at {target}")
            # another script may hold an old stand-in open: the path that holds it
            target = standin.save_fp16(standin.build_googlenet(seed=0), target)
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
