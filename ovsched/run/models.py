"""The model a run uses: find it (or build the offline stand-in), check its path, name ports.

Reading it in any format, shapes, layouts and input data are ``model_inputs``' job. Every
failure here becomes a ``UsageError`` whose one line names the problem and the fix.
"""

import os
from xml.etree import ElementTree

from . import standin
from ..errors import UsageError
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


# Formats ``ov.Core.read_model`` reads, by file name; a folder is a TensorFlow SavedModel.
FORMATS = {".xml": "IR", ".onnx": "ONNX", ".tflite": "TensorFlow Lite", ".pb": "TensorFlow",
           ".meta": "TensorFlow MetaGraph", ".pdmodel": "PaddlePaddle"}
SAVED_MODEL = "TensorFlow SavedModel"
READABLE = "IR .xml, .onnx, .tflite, TensorFlow .pb or SavedModel folder, PaddlePaddle .pdmodel"


def model_format(path):
    """The model's format by its file name: 'IR', 'ONNX', ..., or 'unknown'."""
    if os.path.isdir(path):
        return SAVED_MODEL if os.path.exists(os.path.join(path, "saved_model.pb")) else "unknown"
    return FORMATS.get(os.path.splitext(path)[1].lower(), "unknown")


def check_model_file(path):
    """Refuse a model path OpenVINO cannot read, before OpenVINO gives a vaguer message."""
    try:
        _check_model_file(path)
    except PermissionError as e:
        raise UsageError(f"cannot read model {path}: permission denied ({e.filename}); "
                         f"check the file's permissions") from None
    except OSError as e:
        raise UsageError(f"cannot read model {path}: {e.strerror or e}") from None


def _check_folder(path):
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return
    found = sorted(f for f in os.listdir(path) if os.path.splitext(f)[1].lower() in FORMATS)
    kinds = {os.path.splitext(f)[1].lower() for f in found}
    what = f"the {kinds.pop()} file" if len(kinds) == 1 else "the model file"
    hint = f" (it holds {', '.join(found[:3])})" if found else ""
    raise UsageError(f"model {path} is a folder: give {what} inside it{hint}; a folder is read "
                     f"only as a TensorFlow SavedModel, with saved_model.pb")


def _check_model_file(path):
    if not os.path.exists(path):
        raise UsageError(f"model not found: {path}; fetch it with the README's omz_downloader "
                         f"and omz_converter commands, or give --model=PATH to a model "
                         f"OpenVINO reads ({READABLE})")
    if os.path.isdir(path):
        _check_folder(path)
        return
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
    """Return (model_path, standin). The default path falls back to the offline stand-in."""
    if is_default and path == DEFAULT_MODEL and not os.path.exists(path):
        target = standin_path()
        if not os.path.exists(target) or not os.path.exists(target[:-4] + ".bin"):
            say(f"model {path} not found: building a stand-in with random weights at {target}")
            # another script may hold an old stand-in open: the path that holds it
            target = standin.save_fp16(standin.build_googlenet(seed=0), target)
        return target, True
    check_model_file(path)
    return path, False


def port_name(port):
    """A port's tensor name, or its node's name when the tensor has none."""
    names = port.get_names()
    return sorted(names)[0] if names else port.get_node().get_friendly_name()


def describe_ports(ports):
    return [{"name": port_name(p), "shape": str(p.get_partial_shape()),
             "type": p.get_element_type().get_type_name()} for p in ports]
