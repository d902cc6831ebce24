"""The data every request sends: random (by seed, valid for each type), zeros, or a file."""

import os
import zipfile

import numpy as np

from ..errors import UsageError
from .model_inputs import parse_layout, parse_shape, shape_text, suggest_dims
from .model_read import clip
from .models import port_name

SMALL_INT_HIGH = 10  # random integers are drawn from [1, 10)


def _dtype(port):
    et = port.get_element_type()
    name = et.get_type_name()
    if name == "boolean":
        return np.dtype(bool)
    if name in ("f16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"):
        return np.dtype(et.to_dtype())
    raise UsageError(f"input {port_name(port)!r} has element type {name}, for which no input "
                     f"data can be made; this tool fills only number and boolean inputs")


def _static_shape(port):
    shape = port.get_partial_shape()
    if shape.is_dynamic:
        label = port_name(port)
        example = shape_text(label, suggest_dims(port)) if shape.rank.is_static \
            else f"{label}[...]"
        raise UsageError(f"input {label!r} has no static shape ({shape}); give one with "
                         f"--shape, e.g. --shape=\"{example}\"")
    return tuple(shape.to_shape())


def random_array(shape, dtype, rng):
    """Values valid for the type: floats in [0, 1), bytes 0..255, small integers, booleans."""
    if dtype == np.bool_:
        return np.asarray(rng.integers(0, 2, size=shape), dtype=bool)
    if dtype.kind == "f":
        return np.asarray(rng.random(size=shape), dtype=dtype)
    if dtype == np.uint8:  # image pixels
        return np.asarray(rng.integers(0, 256, size=shape), dtype=dtype)
    # Small positive integers stay valid as indices into any table of ten or more entries
    # and as counts or lengths; zero is left out because a zero length or divisor makes
    # some models skip their work or fail.
    return np.asarray(rng.integers(1, SMALL_INT_HIGH, size=shape), dtype=dtype)


def input_data(ports, mode="random", seed=0):
    """Data for each input, by name: 'random' (deterministic), 'zeros', or a .npz/.npy file."""
    ports = list(ports)
    if mode == "zeros":
        return {port_name(p): np.zeros(_static_shape(p), _dtype(p)) for p in ports}
    if mode == "random":
        # One generator per input position: an input's data does not depend on the others.
        return {port_name(p): random_array(_static_shape(p), _dtype(p),
                                           np.random.default_rng([seed, i]))
                for i, p in enumerate(ports)}
    return _file_data(ports, mode)


def _check_input_path(path):
    if os.path.splitext(path)[1].lower() not in (".npz", ".npy"):
        raise UsageError(f"--input={path}: give random, zeros, or a NumPy file (.npz with one "
                         f"array per input name, or .npy for a one-input model)")
    if not os.path.isfile(path):
        raise UsageError(f"--input={path}: file not found")


def _load_arrays(path, ports):
    _check_input_path(path)
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            if len(ports) != 1:
                raise UsageError(f"--input={path}: a .npy file holds one array but the model "
                                 f"has {len(ports)} inputs ({', '.join(map(port_name, ports))});"
                                 f" save them by name with numpy.savez(FILE.npz, NAME=array)")
            return {port_name(ports[0]): np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # damaged, pickled
        raise UsageError(f"--input={path}: cannot read it as NumPy data ({clip(str(e))})") \
            from None


def _convert(array, dtype, label, path):
    """The array in the input's type; only conversions within a kind, values kept."""
    have = array.dtype
    if have == dtype:
        return array
    fits = have.kind == "f" and dtype.kind == "f"  # float64 from numpy's defaults is common
    if have.kind in "iu" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        fits = array.size == 0 or (info.min <= array.min() and array.max() <= info.max)
    if not fits:
        raise UsageError(f"--input={path}: array {label!r} holds {have} but input {label!r} "
                         f"takes {dtype}; save it as {dtype}")
    return array.astype(dtype)


def _file_data(ports, path):
    arrays = _load_arrays(path, ports)
    data, used = {}, set()
    for port in ports:
        label = port_name(port)
        key = next((k for k in arrays if k == label or k in port.get_names()), None)
        if key is None:
            raise UsageError(f"--input={path} has no array for input {label!r} (it holds "
                             f"{', '.join(sorted(arrays)) or 'nothing'}); save one under that "
                             f"name")
        used.add(key)
        shape, dtype = _static_shape(port), _dtype(port)
        array = np.asarray(arrays[key])
        if tuple(array.shape) != shape:
            raise UsageError(f"--input={path}: array {key!r} has shape {list(array.shape)} but "
                             f"input {label!r} is {list(shape)}; save it in that shape or run "
                             f"with --shape=\"{shape_text(label, array.shape)}\"")
        data[label] = _convert(array, dtype, label, path)
    extra = sorted(set(arrays) - used)
    if extra:
        raise UsageError(f"--input={path} holds {', '.join(extra)}, which names no model input "
                         f"(inputs: {', '.join(map(port_name, ports))}); rename or remove it")
    return data


INPUT_MODES = ("random", "zeros")


def inputs_by_index(model, data):
    """``input_data``'s arrays keyed by input position, as ``Runner(inputs=...)`` takes them."""
    return {i: data[port_name(p)] for i, p in enumerate(model.inputs)}


def check_model_settings(settings):
    """Check ``shape``, ``layout``, ``input`` and ``seed`` as far as they can be without the
    model: before anything is loaded."""
    if str(settings.get("shape", "")).strip():
        parse_shape(settings["shape"])
    if str(settings.get("layout", "")).strip():
        parse_layout(settings["layout"])
    mode = settings.get("input", "random")
    if mode not in INPUT_MODES:
        _check_input_path(mode)
    seed = settings.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed={seed!r}: the seed is a whole number, 0 or more, e.g. "
                         f"--seed=1")
