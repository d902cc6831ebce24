"""The user's own model, taken the way benchmark_app takes it.

Any format ``ov.Core.read_model`` reads, a static shape (``--shape=x[1,3,640,640]``), a layout
(``--layout=x(NCHW)``) and the data the inputs are filled with (random, zeros or a file).
Every problem with what the user gave is a ``UsageError`` with one line, raised before
compiling.
"""

import difflib
import re

import openvino as ov

from ..errors import UsageError
from .model_read import ov_reason
from .models import model_format, port_name  # noqa: F401

SHAPE_EXAMPLE = "x[1,3,640,640] or x[1,3,640,640],y[1,10] or [1,3,640,640] for one input"
LAYOUT_EXAMPLE = "x(NCHW) or x(NCHW),y(NC) or [NHWC] for one input"
IMAGE_SIZE = 224  # the input size of most image classifiers; a valid size for nearly all CNNs
IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: what marks the channel axis of an image input
# For a dynamic axis that is neither batch nor image: usually a sequence length (tokens,
# frames). 128 is a common export length for text models and well inside the position
# limits such models have (512 and up), so the suggestion compiles; the user edits it.
SEQUENCE_SIZE = 128


# ---------------------------------------------------------------- reading any format


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


def shape_text(name, dims):
    return f"{name or ''}[{','.join(str(d) for d in dims)}]"


def apply_shape(model, parsed):
    """Check ``parse_shape``'s result against the model's inputs, then reshape; a note."""
    shapes, changes = {}, []
    for name, dims in parsed:
        port = find_input(model, name, "shape")
        label, given = port_name(port), shape_text(name, dims)
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
        raise UsageError(f"--shape={','.join(shape_text(n, d) for n, d in parsed)}: OpenVINO "
                         f"cannot reshape the model: {ov_reason(e)}") from None
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
        paste = ",".join(shape_text(port_name(p), dims) if dims is not None
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
            raise UsageError(f"--layout: {item!r} is not a layout ({ov_reason(e)}); "
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
            paste = shape_text(port_name(port), fixed)
            return (f"input {port_name(port)!r} has size {shape[0].get_length()} on axis 0 "
                    f"({shape}) and automatic batching only re-batches inputs of size 1 there; "
                    f"if axis 0 is the batch, run with --shape=\"{paste}\"")
    return ("OpenVINO could not follow axis 0 of the inputs to the outputs, so the batch "
            "dimension is probably fixed inside the model (e.g. a Reshape to a constant "
            "shape); a --layout does not change this; re-export it with a free batch dimension")


# ---------------------------------------------------------------- input data


# ---------------------------------------------------------------- the run's settings


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
    return ", ".join(shape_text(name, dims) for name, dims in shapes.items())


