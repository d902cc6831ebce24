"""The user's own model, taken the way benchmark_app takes it.

Any format ``ov.Core.read_model`` reads, a static shape (``--shape=x[1,3,640,640]``), a layout
(``--layout=x(NCHW)``) and the data the inputs are filled with (random, zeros or a file).
Every problem with what the user gave is a ``UsageError`` with one line, raised before
compiling.
"""

import contextlib
import difflib
import os
import re
import sys
import tempfile
import zipfile

import numpy as np
import openvino as ov

from ..errors import UsageError, essential
from .models import READABLE, check_model_file, model_format, port_name  # noqa: F401

SHAPE_EXAMPLE = "x[1,3,640,640] or x[1,3,640,640],y[1,10] or [1,3,640,640] for one input"
LAYOUT_EXAMPLE = "x(NCHW) or x(NCHW),y(NC) or [NHWC] for one input"
IMAGE_SIZE = 224  # the input size of most image classifiers; a valid size for nearly all CNNs
IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: what marks the channel axis of an image input
# For a dynamic axis that is neither batch nor image: usually a sequence length (tokens,
# frames). 128 is a common export length for text models and well inside the position
# limits such models have (512 and up), so the suggestion compiles; the user edits it.
SEQUENCE_SIZE = 128
SMALL_INT_HIGH = 10  # random integers are drawn from [1, 10)
REASON_CHARS = 200  # how much of a frontend's own explanation a one-line error keeps


# ---------------------------------------------------------------- reading any format

def short_version():
    """'2026.4.1' from OpenVINO's long build string."""
    return ov.get_version().split("-")[0]


def read_model_any(core, path):
    """Read a model in any format OpenVINO reads; a failure is one line."""
    check_model_file(path)  # missing, empty, a folder, broken IR XML, IR without .bin
    with _stderr_kept_on_success():
        try:
            return core.read_model(path)
        except Exception as e:  # RuntimeError mostly; its text spans many lines of internals
            raise UsageError(f"OpenVINO {short_version()} cannot read model {path}: "
                             f"{read_failure(str(e))}") from None


@contextlib.contextmanager
def _stderr_kept_on_success():
    """Hold back what the frontends write to the process's stderr while reading.

    Given a file it cannot read, OpenVINO tries each frontend in turn, and some write
    pages of parser errors straight to file descriptor 2. Replayed if reading succeeds,
    dropped when the failure is reported as one line instead."""
    try:
        sys.stderr.flush()
        fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. a GUI launcher)
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), fd)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            if not failed:
                held.seek(0)
                text = held.read()
                if text:
                    os.write(fd, text)


def read_failure(text):
    """One line from OpenVINO's read_model error: the first operation that failed, and why.

    Knows the texts of the frontends' conversion reports of 2024.6 and later; anything
    else is shortened to its sentences."""
    unsupported = re.search(r"No conversion rule found for operations?: *(.+)", text) \
        or re.search(r"does not support the following \w+ operations?: *(.+)", text)
    if unsupported:
        ops = [op.strip() for op in unsupported.group(1).split(",") if op.strip()]
        more = f" ({len(ops) - 1} more unsupported: {', '.join(ops[1:4])})" if ops[1:] else ""
        return (f"operation {ops[0]} has no conversion rule in this OpenVINO{more}; export the "
                f"model without it or try a newer OpenVINO")
    detailed = re.search(r"-- (\S+) with a message:\n(.*?)(?:\n\s*\n|\nSummary:|\Z)", text,
                         re.DOTALL)
    if detailed:
        return _failed_op(detailed.group(1), detailed.group(2))
    translation = re.search(r"Errors during \w+ translation:\n(.*?)(?:\n\s*\n|\Z)", text, re.DOTALL)
    if translation:
        node = re.search(r"<Node\((\w+)\)", translation.group(1))
        return _failed_op(node.group(1) if node else "unknown", translation.group(1))
    failed = re.search(r"Conversion is failed for: *([^\n,]+)", text)
    if failed:
        return f"operation {failed.group(1).strip()} failed to convert"
    unreadable = re.search(r"Unable to read the model: .*?(Please check .*?is supported)", text)
    if unreadable:
        return "no frontend recognises the file; is it a complete model in a format " \
               f"OpenVINO reads ({READABLE})?"
    lines = [ln for ln in text.splitlines() if not re.match(r"\s*(Exception from |Check '|"
                                                            r"FrontEnd API failed)", ln)]
    return _clip(" ".join(ln.strip() for ln in lines if ln.strip()) or essential(text))


def _failed_op(op, message):
    """'operation Reshape failed to convert: <the frontend's last sentence>'."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    # The last line is the reason; earlier ones locate it in OpenVINO's own source.
    reason = re.sub(r"^While validating ONNX node '[^']*':\s*", "", lines[-1]) if lines else ""
    reason = re.sub(r"Check '.*?' failed at \S+:\s*", "", reason)
    return _clip(f"operation {op} failed to convert" + (f": {reason}" if reason else ""))


def _ov_reason(error):
    """An OpenVINO exception's own words, without where in OpenVINO's source it arose."""
    return _clip(re.sub(r"Check '.*?' failed at \S+:\s*", "", essential(error)))


def _clip(text):
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."


# ---------------------------------------------------------------- names and shapes

def _split_items(text):
    """Split at commas outside brackets: 'x[1,2],y[3]' -> ['x[1,2]', 'y[3]']."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items]


def _check_names(parsed, setting, example):
    names = [name for name, _ in parsed]
    if names.count(None) > 1 or (None in names and len(names) > 1):
        raise UsageError(f"--{setting}: only a model with one input takes a value without an "
                         f"input name; name each input, e.g. --{setting}={example}")
    repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if repeated:
        raise UsageError(f"--{setting} gives input {repeated[0]!r} twice; give each input "
                         f"once")


def parse_shape(text):
    """benchmark_app's shape syntax -> [(input name or None, [dims])].

    'x[1,3,640,640]', 'x[1,3,640,640],y[1,10]', '[1,3,640,640]', 'x[]' (a scalar)."""
    if not text or not text.strip():
        raise UsageError(f"--shape is empty; write e.g. --shape={SHAPE_EXAMPLE}")
    parsed = []
    for item in _split_items(text.strip()):
        m = re.fullmatch(r"([^\[\]]*?)\s*\[([^\[\]]*)\]", item)
        if m is None:
            raise UsageError(f"--shape: cannot read {item!r}; write NAME[d1,d2,...], e.g. "
                             f"--shape={SHAPE_EXAMPLE}")
        name, body = m.group(1) or None, m.group(2).strip()
        dims = []
        for word in (body.split(",") if body else []):
            word = word.strip()
            if not re.fullmatch(r"\d+", word) or int(word) < 1:
                raise UsageError(f"--shape: {item!r} has {word!r} where a whole number >= 1 "
                                 f"goes; every dimension must be fixed, e.g. "
                                 f"{name or ''}[1,3,640,640]")
            dims.append(int(word))
        parsed.append((name, dims))
    _check_names(parsed, "shape", SHAPE_EXAMPLE)
    return parsed


def _input_names(model):
    return ", ".join(port_name(p) for p in model.inputs)


def find_input(model, name, setting):
    """The model input a user-given name means (any tensor name, or the node's name)."""
    ports = list(model.inputs)
    if name is None:
        if len(ports) != 1:
            brackets = "[...]" if setting == "shape" else "(...)"
            example = ",".join(port_name(p) + brackets for p in ports[:2])
            raise UsageError(f"--{setting} gives no input name but the model has "
                             f"{len(ports)} inputs ({_input_names(model)}); name each, e.g. "
                             f"--{setting}={example}")
        return ports[0]
    for port in ports:
        if name in port.get_names() or name == port.get_node().get_friendly_name():
            return port
    known = [port_name(p) for p in ports]
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    hint = f" (did you mean {lowered[match[0]]}?)" if match else ""
    raise UsageError(f"--{setting} names input {name!r}, which the model does not have{hint}; "
                     f"its inputs are {', '.join(known)}")


def _shape_text(name, dims):
    return f"{name or ''}[{','.join(str(d) for d in dims)}]"


def apply_shape(model, parsed):
    """Check ``parse_shape``'s result against the model's inputs, then reshape; a note."""
    shapes, changes = {}, []
    for name, dims in parsed:
        port = find_input(model, name, "shape")
        label, given = port_name(port), _shape_text(name, dims)
        shape = port.get_partial_shape()
        if shape.rank.is_static:
            if shape.rank.get_length() != len(dims):
                raise UsageError(f"--shape={given}: input {label!r} has "
                                 f"{shape.rank.get_length()} dimensions ({shape}), not "
                                 f"{len(dims)}; give one number per dimension")
            # A static dimension may change, as with benchmark_app: it is often only the
            # size the model was exported with; the reshape below says if the model refuses.
            # An interval is the model's declared range and is kept to.
            for axis, (dim, value) in enumerate(zip(shape, dims)):
                low, high = dim.get_min_length(), dim.get_max_length()
                if dim.is_dynamic and (value < low or (high >= 0 and value > high)):
                    raise UsageError(f"--shape={given}: input {label!r} dimension {axis} takes "
                                     f"{dim} ({shape}), not {value}")
        shapes[port] = ov.PartialShape(dims)
        changes.append(f"{label} {shape} -> {shapes[port]}")
    try:
        model.reshape(shapes)
    except RuntimeError as e:  # the model's own operations refuse the shape
        raise UsageError(f"--shape={','.join(_shape_text(n, d) for n, d in parsed)}: OpenVINO "
                         f"cannot reshape the model: {_ov_reason(e)}") from None
    return "shape set: " + "; ".join(changes)


def _layout_of(port):
    layout = port.get_node().get_layout()
    return None if layout.empty else layout


def batch_axis(port):
    """Axis of the batch: the layout's N when set, else 0 (the convention of exporters)."""
    layout = _layout_of(port)
    if layout is not None and ov.layout_helpers.has_batch(layout):
        return ov.layout_helpers.batch_idx(layout)
    return 0


def _image_axes(port, dims):
    """(height, width, channel) axes of an image-like input, or None."""
    layout = _layout_of(port)
    helpers = ov.layout_helpers
    if layout is not None and helpers.has_height(layout) and helpers.has_width(layout):
        channel = helpers.channels_idx(layout) if helpers.has_channels(layout) else None
        return helpers.height_idx(layout), helpers.width_idx(layout), channel
    if len(dims) != 4:
        return None

    def is_channel(dim):
        return dim.is_static and dim.get_length() in IMAGE_CHANNELS
    if is_channel(dims[3]) and not is_channel(dims[1]):
        return 1, 2, 3  # NHWC, as TensorFlow exports
    return 2, 3, 1  # NCHW, as PyTorch and ONNX exports


def suggest_dims(port):
    """A static shape for a dynamic input, for the user to check and paste."""
    dims = list(port.get_partial_shape())
    image = _image_axes(port, dims) or (None, None, None)
    batch = batch_axis(port)
    out = []
    for axis, dim in enumerate(dims):
        low, high = dim.get_min_length(), dim.get_max_length()
        if dim.is_static:
            value = low
        elif axis == batch:
            value = 1  # batching is the device's job: BATCH: re-batches a batch of 1
        elif high >= 0:
            value = high  # the model's own bound: an interval dimension 1..640 gives 640
        elif axis in image[:2]:
            value = IMAGE_SIZE
        elif axis == image[2]:
            value = 3
        else:
            value = SEQUENCE_SIZE
        out.append(max(value, low, 1))
    return out


def make_static(model):
    """Fix a dynamic batch to 1; refuse other dynamic dimensions with a ready ``--shape``.

    Returns a note for the user, or None when the model was static already."""
    shapes, changed, refused = {}, [], []
    for port in model.inputs:
        shape = port.get_partial_shape()
        if shape.is_static:
            continue
        if shape.rank.is_dynamic:
            refused.append((port, None))
            continue
        dims = list(shape)
        batch = batch_axis(port)
        if any(d.is_dynamic for axis, d in enumerate(dims) if axis != batch):
            refused.append((port, suggest_dims(port)))
            continue
        dims[batch] = max(1, dims[batch].get_min_length())
        static = ov.PartialShape([d if isinstance(d, int) else d.get_length() for d in dims])
        shapes[port] = static
        changed.append(f"{port_name(port)} {shape} -> {static}")
    if refused:
        described = ", ".join(f"{port_name(p)!r} {p.get_partial_shape()}" for p, _ in refused)
        plural = len(refused) > 1
        paste = ",".join(_shape_text(port_name(p), dims) if dims is not None
                         else f"{port_name(p)}[...]" for p, dims in refused)
        raise UsageError(f"model input{'s' if plural else ''} {described} "
                         f"ha{'ve' if plural else 's'} dynamic dimensions; give "
                         f"{'static shapes' if plural else 'a static shape'}, e.g. "
                         f"--shape=\"{paste}\" (with the sizes of your data)")
    if not shapes:
        return None
    model.reshape(shapes)
    return "dynamic batch set to 1: " + "; ".join(changed)


# ---------------------------------------------------------------- layouts

def parse_layout(text):
    """'x(NCHW)', 'x(NCHW),y(NC)', '[NHWC]' -> [(input name or None, layout text)].

    Brackets are accepted too ('x[NCHW]', as benchmark_app writes it)."""
    if not text or not text.strip():
        raise UsageError(f"--layout is empty; write e.g. --layout={LAYOUT_EXAMPLE}")
    parsed = []
    for item in _split_items(text.strip()):
        m = re.fullmatch(r"([^\[\]()]*?)\s*(?:\(([^()]*)\)|\[([^\[\]]*)\])", item)
        if m is None or not (m.group(2) or m.group(3) or "").strip():
            raise UsageError(f"--layout: cannot read {item!r}; write NAME(LETTERS), e.g. "
                             f"--layout={LAYOUT_EXAMPLE}")
        body = (m.group(2) or m.group(3)).strip()
        if "," in body:
            body = f"[{body}]"
        try:
            layout = ov.Layout(body)
        except RuntimeError as e:  # OpenVINO's parser says what is wrong with the letters
            raise UsageError(f"--layout: {item!r} is not a layout ({_ov_reason(e)}); "
                             f"use letters such as NCHW, NHWC, NC or N...") from None
        parsed.append((m.group(1) or None, layout.to_string()))
    _check_names(parsed, "layout", LAYOUT_EXAMPLE)
    return parsed


def _layout_rank(layout_text):
    """(number of named axes, whether '...' allows more) of a layout like '[N,C,...]'."""
    axes = [a for a in layout_text.strip("[]").split(",") if a]
    return len([a for a in axes if a != "..."]), "..." in axes


def apply_layout(model, parsed):
    """Set each named input's layout after checking it fits the input's rank; a note."""
    notes = []
    for name, text in parsed:
        port = find_input(model, name, "layout")
        label, shape = port_name(port), port.get_partial_shape()
        count, open_ended = _layout_rank(text)
        if shape.rank.is_static:
            rank = shape.rank.get_length()
            if count > rank or (count < rank and not open_ended):
                raise UsageError(f"--layout: {text} has {count} axes but input {label!r} has "
                                 f"{rank} ({shape}); give one letter per dimension")
        port.get_node().set_layout(ov.Layout(text))
        notes.append(f"{label} {text}")
    return "layout set: " + "; ".join(notes)


def batch_fallback_hint(model):
    """Why a BATCH: device may have run this model at batch 1, as far as the model tells.

    OpenVINO (2024.6 and later) re-batches only inputs whose axis 0 has size 1 and whose
    axis 0 it can follow through the graph; it does not consult the inputs' layouts."""
    ports = list(model.inputs)
    shapes = [(p, p.get_partial_shape()) for p in ports]
    if shapes and all(s.rank.is_static and s.rank.get_length() == 0 for _, s in shapes):
        return "the model's inputs are scalars: there is no axis to batch"
    elsewhere = [(port_name(p), batch_axis(p)) for p in ports
                 if _layout_of(p) is not None and batch_axis(p) != 0
                 and ov.layout_helpers.has_batch(_layout_of(p))]
    if elsewhere:
        name, axis = elsewhere[0]
        return (f"input {name!r}'s layout puts the batch on axis {axis}, but automatic "
                f"batching only ever batches axis 0 (it does not read layouts); export the "
                f"model with the batch first")
    for port, shape in shapes:
        if shape.rank.is_static and shape.rank.get_length() > 0 and shape[0].is_static \
                and shape[0].get_length() != 1:
            fixed = [1] + [d.get_length() if d.is_static else "?" for d in list(shape)[1:]]
            paste = _shape_text(port_name(port), fixed)
            return (f"input {port_name(port)!r} has size {shape[0].get_length()} on axis 0 "
                    f"({shape}) and automatic batching only re-batches inputs of size 1 there; "
                    f"if axis 0 is the batch, run with --shape=\"{paste}\"")
    return ("OpenVINO could not follow axis 0 of the inputs to the outputs, so the batch "
            "dimension is probably fixed inside the model (e.g. a Reshape to a constant "
            "shape); a --layout does not change this; re-export it with a free batch dimension")


# ---------------------------------------------------------------- input data

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
        example = _shape_text(label, suggest_dims(port)) if shape.rank.is_static \
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
        raise UsageError(f"--input={path}: cannot read it as NumPy data ({_clip(str(e))})") \
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
                             f"with --shape=\"{_shape_text(label, array.shape)}\"")
        data[label] = _convert(array, dtype, label, path)
    extra = sorted(set(arrays) - used)
    if extra:
        raise UsageError(f"--input={path} holds {', '.join(extra)}, which names no model input "
                         f"(inputs: {', '.join(map(port_name, ports))}); rename or remove it")
    return data


# ---------------------------------------------------------------- the run's settings

INPUT_MODES = ("random", "zeros")


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


def fit_model(model, settings):
    """Apply ``layout``, then ``shape``, then fix a dynamic batch to 1; the notes to show.

    The layout goes first: it tells ``make_static`` which axis is the batch."""
    notes = []
    if str(settings.get("layout", "")).strip():
        notes.append(apply_layout(model, parse_layout(settings["layout"])))
    if str(settings.get("shape", "")).strip():
        notes.append(apply_shape(model, parse_shape(settings["shape"])))
    note = make_static(model)
    if note:
        notes.append(note)
    return notes


def input_shapes(model):
    """{input name: [dims]} of a static model: the shapes a run sends."""
    return {port_name(p): [int(d) for d in p.get_shape()] for p in model.inputs}


def shapes_text(shapes):
    """'x[1,3,32,32], y[]' for a summary's ``shapes``."""
    return ", ".join(_shape_text(name, dims) for name, dims in shapes.items())


def inputs_by_index(model, data):
    """``input_data``'s arrays keyed by input position, as ``Runner(inputs=...)`` takes them."""
    return {i: data[port_name(p)] for i, p in enumerate(model.inputs)}
