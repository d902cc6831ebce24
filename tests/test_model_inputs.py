"""The user's own model: formats, --shape, --layout, batching hints and input data."""

import numpy as np
import openvino as ov
import pytest

from ovsched.run import input_data, model_read
from ovsched.run import model_inputs as mi
from ovsched.run.settings import UsageError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

try:
    import openvino.opset13 as ops
except ImportError:  # OpenVINO 2024.x only exposes opsets under runtime
    import openvino.runtime.opset13 as ops

ONNX_OPSET = 13  # read by OpenVINO 2024.6 and later
core = ov.Core()


# ------------------------------------------------------------------ models built here

def save_onnx(path, nodes, inputs, outputs, inits=(), domains=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    opsets = [helper.make_opsetid("", ONNX_OPSET)] + [helper.make_opsetid(d, 1) for d in domains]
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=8), str(path))
    return str(path)


def conv_onnx(path, shape):
    """x (shape) -> Conv 3->4 -> Relu -> y: a detector's first layer, any spatial size."""
    weight = numpy_helper.from_array(np.full((4, 3, 3, 3), 0.1, np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return save_onnx(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])


@pytest.fixture(scope="module")
def det(tmp_path_factory):
    return conv_onnx(tmp_path_factory.mktemp("det") / "det.onnx", ["N", 3, "H", "W"])


@pytest.fixture(scope="module")
def batch_only(tmp_path_factory):
    return conv_onnx(tmp_path_factory.mktemp("b") / "batch_only.onnx", ["N", 3, 16, 16])


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Token ids (int64), a mask (bool), features and a scalar rate: y = mask ? ids*f : rate."""
    n_t = ["N", "T"]
    inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, n_t),
              helper.make_tensor_value_info("mask", TensorProto.BOOL, n_t),
              helper.make_tensor_value_info("feats", TensorProto.FLOAT, n_t),
              helper.make_tensor_value_info("rate", TensorProto.INT64, [])]
    nodes = [helper.make_node("Cast", ["ids"], ["idf"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["rate"], ["ratef"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["idf", "feats"], ["prod"]),
             helper.make_node("Where", ["mask", "prod", "ratef"], ["y"])]
    return save_onnx(tmp_path_factory.mktemp("multi") / "multi.onnx", nodes, inputs,
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])


def conv_ir(path, shape, layout=None):
    """The same conv layer as an OpenVINO IR, with intervals where ONNX cannot have them."""
    x = ops.parameter(ov.PartialShape(shape), ov.Type.f32, name="x")
    w = ops.constant(np.full((4, 3, 3, 3), 0.1, np.float32))
    y = ops.relu(ops.convolution(x, w, [1, 1], [1, 1], [1, 1], [1, 1]))
    model = ov.Model([y], [x], "conv")
    if layout:
        x.set_layout(ov.Layout(layout))
    ov.save_model(model, str(path))
    return str(path)


def reshape_const_model():
    """A model whose batch is fixed by a Reshape to a constant shape."""
    x = ops.parameter([1, 3, 4, 4], ov.Type.f32, name="x")
    r = ops.reshape(x, ops.constant(np.array([1, 48], np.int64)), False)
    return ov.Model([ops.relu(r)], [x], "fixed")


def read(path):
    return model_read.read_model_any(core, path)


def shape_of(model, name):
    return str(model.input(name).get_partial_shape())


def one_line_error(call, *args):
    with pytest.raises(UsageError) as info:
        call(*args)
    text = str(info.value)
    assert "\n" not in text, text
    return text


# ------------------------------------------------------------------ --shape

@pytest.mark.parametrize("text, expected", [
    ("x[1,3,640,640]", [("x", [1, 3, 640, 640])]),
    ("x[1,3,640,640],y[1,10]", [("x", [1, 3, 640, 640]), ("y", [1, 10])]),
    (" x [ 1, 3 ,8,8 ] , y[2] ", [("x", [1, 3, 8, 8]), ("y", [2])]),
    ("[1,3,640,640]", [(None, [1, 3, 640, 640])]),
    ("rate[]", [("rate", [])]),
    ("input:0[1,224,224,3]", [("input:0", [1, 224, 224, 3])]),
])
def test_parse_shape(text, expected):
    assert mi.parse_shape(text) == expected


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("x[1,?,3]", "'?'"),
    ("x[1..4,3]", "'1..4'"),
    ("x[1,a]", "'a'"),
    ("x[0,3]", "'0'"),
    ("x1,3,224,224", "cannot read"),
    ("x[1,3", "cannot read"),
    ("[1,3],[1,4]", "only a model with one input"),
    ("x[1],x[2]", "twice"),
])
def test_parse_shape_refuses(text, words):
    assert words in one_line_error(mi.parse_shape, text)


def test_apply_shape_reshapes_a_dynamic_onnx_model(det):
    model = read(det)
    assert shape_of(model, "x") == "[?,3,?,?]"
    note = mi.apply_shape(model, mi.parse_shape("x[1,3,64,48]"))
    assert shape_of(model, "x") == "[1,3,64,48]"
    assert str(model.output(0).get_partial_shape()) == "[1,4,64,48]"
    assert note == "shape set: x [?,3,?,?] -> [1,3,64,48]"


def test_apply_shape_without_a_name_on_a_one_input_model(det):
    model = read(det)
    mi.apply_shape(model, mi.parse_shape("[2,3,8,8]"))
    assert shape_of(model, "x") == "[2,3,8,8]"


@pytest.mark.parametrize("text, words", [
    ("x[1,3,64]", "has 4 dimensions ([?,3,?,?]), not 3"),
    ("x[1,4,64,64]", "OpenVINO cannot reshape the model"),  # 3 channels in its weights
    ("z[1,3,64,64]", "does not have"),
    ("X[1,3,64,64]", "did you mean x?"),
])
def test_apply_shape_refuses_what_does_not_fit(det, text, words):
    model = read(det)
    assert words in one_line_error(mi.apply_shape, model, mi.parse_shape(text))
    assert shape_of(model, "x") == "[?,3,?,?]"  # nothing changed before the error


def test_apply_shape_without_a_name_on_a_multi_input_model(multi):
    text = one_line_error(mi.apply_shape, read(multi), mi.parse_shape("[1,5]"))
    assert "4 inputs (ids, mask, feats, rate)" in text


def test_apply_shape_checks_interval_bounds(tmp_path):
    path = conv_ir(tmp_path / "interval.xml",
                   [-1, 3, ov.Dimension(1, 640), ov.Dimension(32, 640)])
    model = read(path)
    assert "takes 32..640" in one_line_error(mi.apply_shape, model,
                                             mi.parse_shape("x[1,3,64,16]"))
    mi.apply_shape(model, mi.parse_shape("x[1,3,640,32]"))
    assert shape_of(model, "x") == "[1,3,640,32]"


def test_apply_shape_on_several_inputs_and_a_scalar(multi):
    model = read(multi)
    note = mi.apply_shape(model, mi.parse_shape("ids[1,7],mask[1,7],feats[1,7],rate[]"))
    assert [str(p.get_partial_shape()) for p in model.inputs] == ["[1,7]"] * 3 + ["[]"]
    assert "ids [?,?] -> [1,7]" in note and "rate [] -> []" in note


def test_a_shape_the_models_operations_refuse():
    y = ops.parameter([-1, -1], ov.Type.f32, name="y")
    fixed = ov.Model([ops.reshape(y, ops.constant(np.array([2, 6], np.int64)), False)], [y])
    text = one_line_error(mi.apply_shape, fixed, mi.parse_shape("y[1,5]"))
    assert text.startswith("--shape=y[1,5]: OpenVINO cannot reshape the model: ")


# ------------------------------------------------------------------ make_static

def test_make_static_sets_a_dynamic_batch_to_1(batch_only):
    model = read(batch_only)
    note = mi.make_static(model)
    assert shape_of(model, "x") == "[1,3,16,16]"
    assert note == "dynamic batch set to 1: x [?,3,16,16] -> [1,3,16,16]"
    assert mi.make_static(model) is None  # static now


def test_make_static_suggests_a_shape_for_an_image_input(det):
    text = one_line_error(mi.make_static, read(det))
    assert "model input 'x' [?,3,?,?] has dynamic dimensions" in text
    assert '--shape="x[1,3,224,224]"' in text


def test_make_static_takes_interval_bounds_and_nhwc(tmp_path):
    path = conv_ir(tmp_path / "interval.xml", [-1, 3, ov.Dimension(1, 640), ov.Dimension(1, 480)])
    assert '--shape="x[1,3,640,480]"' in one_line_error(mi.make_static, read(path))
    x = ops.parameter(ov.PartialShape([-1, -1, -1, 3]), ov.Type.f32, name="img")
    nhwc = ov.Model([ops.relu(x)], [x])
    assert '--shape="img[1,224,224,3]"' in one_line_error(mi.make_static, nhwc)
    x = ops.parameter(ov.PartialShape([-1, -1, -1, -1]), ov.Type.f32, name="any")
    unknown = ov.Model([ops.relu(x)], [x])
    assert '--shape="any[1,3,224,224]"' in one_line_error(mi.make_static, unknown)


def test_make_static_uses_the_layout_for_batch_and_image_axes():
    x = ops.parameter(ov.PartialShape([3, -1, -1, -1]), ov.Type.f32, name="x")
    model = ov.Model([ops.relu(x)], [x])
    mi.apply_layout(model, mi.parse_layout("x(CNHW)"))
    assert '--shape="x[3,1,224,224]"' in one_line_error(mi.make_static, model)
    y = ops.parameter(ov.PartialShape([8, -1]), ov.Type.f32, name="y")
    model = ov.Model([ops.relu(y)], [y])
    mi.apply_layout(model, mi.parse_layout("y(CN)"))
    assert mi.make_static(model) == "dynamic batch set to 1: y [8,?] -> [8,1]"


def test_make_static_names_every_dynamic_input_and_its_suggestion_pastes(multi):
    text = one_line_error(mi.make_static, read(multi))
    assert "inputs 'ids' [?,?], 'mask' [?,?], 'feats' [?,?] have dynamic dimensions" in text
    assert "rate" not in text
    suggestion = text.split('--shape="')[1].split('"')[0]
    assert suggestion == "ids[1,128],mask[1,128],feats[1,128]"
    model = read(multi)
    mi.apply_shape(model, mi.parse_shape(suggestion))
    assert mi.make_static(model) is None
    assert all(p.get_partial_shape().is_static for p in model.inputs)


def test_make_static_with_a_dynamic_rank():
    x = ops.parameter(ov.PartialShape.dynamic(), ov.Type.f32, name="x")
    text = one_line_error(mi.make_static, ov.Model([ops.relu(x)], [x]))
    assert "'x' [...]" in text and '--shape="x[...]"' in text


# ------------------------------------------------------------------ --layout

@pytest.mark.parametrize("text, expected", [
    ("x(NCHW)", [("x", "[N,C,H,W]")]),
    ("[NHWC]", [(None, "[N,H,W,C]")]),
    ("(nchw)", [(None, "[N,C,H,W]")]),
    ("x[NCHW],y(NC)", [("x", "[N,C,H,W]"), ("y", "[N,C]")]),
    ("x(N,C,H,W)", [("x", "[N,C,H,W]")]),
    ("x(N...)", [("x", "[N,...]")]),
])
def test_parse_layout(text, expected):
    assert mi.parse_layout(text) == expected


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("x()", "cannot read"),
    ("NCHW", "cannot read"),
    ("x(NN)", "defined multiple times"),
    ("x(N C)", "not a layout"),
    ("(NC),(HW)", "only a model with one input"),
])
def test_parse_layout_refuses(text, words):
    assert words in one_line_error(mi.parse_layout, text)


def test_apply_layout_sets_the_inputs_layout(det, multi):
    model = read(det)
    assert mi.apply_layout(model, mi.parse_layout("x(NCHW)")) == "layout set: x [N,C,H,W]"
    assert model.input("x").get_node().get_layout().to_string() == "[N,C,H,W]"
    model = read(multi)
    mi.apply_layout(model, mi.parse_layout("ids(NT),feats(N...)"))
    assert model.input("ids").get_node().get_layout().to_string() == "[N,T]"
    assert model.input("feats").get_node().get_layout().to_string() == "[N,...]"


@pytest.mark.parametrize("text, words", [
    ("x(NC)", "has 2 axes but input 'x' has 4"),
    ("x(NCHWD)", "has 5 axes but input 'x' has 4"),
    ("x(NCHWD...)", "has 5 axes"),
    ("y(NCHW)", "does not have"),
])
def test_apply_layout_refuses_a_mismatch(det, text, words):
    assert words in one_line_error(mi.apply_layout, read(det), mi.parse_layout(text))


# ------------------------------------------------------------------ batching

def runtime_input_shape(compiled):
    return str(compiled.get_runtime_model().inputs[0].get_partial_shape())


def test_batch_cpu_batches_a_reshaped_dynamic_model(det):
    model = read(det)
    mi.apply_shape(model, mi.parse_shape("x[1,3,32,32]"))
    compiled = core.compile_model(model, "BATCH:CPU(4)")
    assert runtime_input_shape(compiled) == "[4,3,32,32]"
    data = input_data.input_data(compiled.inputs)
    result = compiled(data)[compiled.output(0)]
    assert result.shape == (1, 4, 32, 32) and np.all(result >= 0)


def test_fallback_hint_for_a_batch_fixed_inside_the_model():
    model = reshape_const_model()
    assert runtime_input_shape(core.compile_model(model, "BATCH:CPU(4)")) == "[1,3,4,4]"
    hint = mi.batch_fallback_hint(model)
    assert "batch dimension is probably fixed inside the model" in hint
    assert "--layout does not change this" in hint


def test_a_layout_does_not_change_what_batch_batches():
    # Batch really on axis 1: Transpose hands it to the Convolution's batch axis.
    x = ops.parameter([3, 1, 8, 8], ov.Type.f32, name="x")
    t = ops.transpose(x, ops.constant(np.array([1, 0, 2, 3], np.int64)))
    w = ops.constant(np.ones((4, 3, 3, 3), np.float32))
    model = ov.Model([ops.convolution(t, w, [1, 1], [1, 1], [1, 1], [1, 1])], [x])
    before = runtime_input_shape(core.compile_model(model, "BATCH:CPU(4)"))
    mi.apply_layout(model, mi.parse_layout("x(CNHW)"))
    after = runtime_input_shape(core.compile_model(model, "BATCH:CPU(4)"))
    # If OpenVINO starts to read layouts when batching, batch_fallback_hint must change.
    assert before == after == "[3,1,8,8]"
    assert "puts the batch on axis 1" in mi.batch_fallback_hint(model)


def test_fallback_hint_for_a_model_batched_already(tmp_path):
    model = read(conv_ir(tmp_path / "b2.xml", [2, 3, 8, 8]))
    assert runtime_input_shape(core.compile_model(model, "BATCH:CPU(4)")) == "[2,3,8,8]"
    hint = mi.batch_fallback_hint(model)
    assert "size 2 on axis 0" in hint and '--shape="x[1,3,8,8]"' in hint


def test_fallback_hint_for_scalar_inputs():
    x = ops.parameter([], ov.Type.f32, name="x")
    assert "scalars" in mi.batch_fallback_hint(ov.Model([ops.relu(x)], [x]))


# ------------------------------------------------------------------ input data

@pytest.fixture()
def multi_static(multi):
    model = read(multi)
    mi.apply_shape(model, mi.parse_shape("ids[2,50],mask[2,50],feats[2,50],rate[]"))
    return model


def test_random_data_is_valid_for_each_type_and_deterministic(multi_static):
    data = input_data.input_data(multi_static.inputs, "random", seed=0)
    assert list(data) == ["ids", "mask", "feats", "rate"]
    ids, mask, feats, rate = (data[k] for k in ("ids", "mask", "feats", "rate"))
    assert ids.dtype == np.int64 and ids.shape == (2, 50)
    assert ids.min() >= 1 and ids.max() < input_data.SMALL_INT_HIGH and len(np.unique(ids)) > 1
    assert mask.dtype == np.bool_ and mask.any() and not mask.all()
    assert feats.dtype == np.float32 and feats.min() >= 0 and feats.max() < 1
    assert len(np.unique(feats)) > 50
    assert rate.shape == () and rate.dtype == np.int64 and 1 <= rate < input_data.SMALL_INT_HIGH
    again = input_data.input_data(multi_static.inputs, "random", seed=0)
    other = input_data.input_data(multi_static.inputs, "random", seed=1)
    assert all(np.array_equal(data[k], again[k]) for k in data)
    assert not np.array_equal(data["feats"], other["feats"])
    compiled = core.compile_model(multi_static, "CPU")
    out = compiled(data)[compiled.output(0)]
    expected = np.where(mask, ids * feats, np.float32(rate))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_u8_inputs_cover_pixel_values():
    x = ops.parameter([1, 3, 32, 32], ov.Type.u8, name="img")
    data = input_data.input_data(ov.Model([ops.convert(x, ov.Type.f32)], [x]).inputs)["img"]
    assert data.dtype == np.uint8 and data.max() > 200


def test_zeros(multi_static):
    data = input_data.input_data(multi_static.inputs, "zeros")
    assert all(not a.any() for a in data.values())
    assert data["mask"].dtype == np.bool_ and data["rate"].shape == ()


def test_data_from_npz_by_name(multi_static, tmp_path):
    path = tmp_path / "in.npz"
    rng = np.random.default_rng(5)
    feats = rng.random((2, 50))  # float64, as numpy makes it: converted to the input's f32
    np.savez(path, ids=np.full((2, 50), 3, np.int32), mask=np.ones((2, 50), bool),
             feats=feats, rate=np.int64(16000))
    data = input_data.input_data(multi_static.inputs, str(path))
    assert data["feats"].dtype == np.float32
    np.testing.assert_allclose(data["feats"], feats.astype(np.float32))
    assert data["ids"].dtype == np.int64 and int(data["rate"]) == 16000


def test_data_from_npy_for_one_input(det, tmp_path):
    model = read(det)
    mi.apply_shape(model, mi.parse_shape("x[1,3,8,8]"))
    array = np.arange(192, dtype=np.float32).reshape(1, 3, 8, 8)
    np.save(tmp_path / "x.npy", array)
    assert np.array_equal(input_data.input_data(model.inputs, str(tmp_path / "x.npy"))["x"], array)
    np.save(tmp_path / "wrong.npy", array[:, :, :4])
    text = one_line_error(input_data.input_data, model.inputs, str(tmp_path / "wrong.npy"))
    assert "array 'x' has shape [1, 3, 4, 8] but input 'x' is [1, 3, 8, 8]" in text
    assert '--shape="x[1,3,4,8]"' in text


def npz(tmp_path, **arrays):
    path = tmp_path / "in.npz"
    np.savez(path, **arrays)
    return str(path)


def good_arrays():
    return {"ids": np.ones((2, 50), np.int64), "mask": np.ones((2, 50), bool),
                "feats": np.ones((2, 50), np.float32), "rate": np.int64(1)}


@pytest.mark.parametrize("change, words", [
    ({"feats": np.ones((2, 49), np.float32)}, "array 'feats' has shape [2, 49]"),
    ({"ids": np.ones((2, 50), np.float32)}, "'ids' holds float32 but input 'ids' takes int64"),
    ({"mask": np.ones((2, 50), np.int8)}, "'mask' holds int8 but input 'mask' takes bool"),
    ({"rate": np.float64(2.5)}, "'rate' holds float64"),
    ({"extra": np.ones(3)}, "holds extra, which names no model input"),
])
def test_npz_mismatches_name_the_input(multi_static, tmp_path, change, words):
    arrays = {**good_arrays(), **change}
    path = npz(tmp_path, **arrays)
    assert words in one_line_error(input_data.input_data, multi_static.inputs, path)


def test_npz_missing_input_and_bad_files(multi_static, tmp_path):
    arrays = good_arrays()
    del arrays["rate"]
    text = one_line_error(input_data.input_data, multi_static.inputs, npz(tmp_path, **arrays))
    assert "no array for input 'rate' (it holds feats, ids, mask)" in text
    ints = {**good_arrays(), "ids": np.full((2, 50), 2**40, np.int64)}
    x = ops.parameter([2, 50], ov.Type.i32, name="ids")
    small = ov.Model([ops.relu(x)], [x]).inputs
    assert "holds int64 but input 'ids' takes int32" in one_line_error(
        input_data.input_data, small, npz(tmp_path, ids=ints["ids"]))
    np.save(tmp_path / "one.npy", np.ones((2, 50), np.float32))
    assert "a .npy file holds one array but the model has 4 inputs" in one_line_error(
        input_data.input_data, multi_static.inputs, str(tmp_path / "one.npy"))
    assert "file not found" in one_line_error(input_data.input_data, multi_static.inputs,
                                              str(tmp_path / "none.npz"))
    (tmp_path / "data.txt").write_text("1 2 3")
    assert "give random, zeros, or a NumPy file" in one_line_error(
        input_data.input_data, multi_static.inputs, str(tmp_path / "data.txt"))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert "cannot read it as NumPy data" in one_line_error(
        input_data.input_data, multi_static.inputs, str(tmp_path / "broken.npz"))


def test_data_needs_static_shapes(det):
    text = one_line_error(input_data.input_data, read(det).inputs, "random")
    assert '--shape="x[1,3,224,224]"' in text


# ------------------------------------------------------------------ reading any format

def test_model_format(tmp_path):
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "saved_model.pb").write_bytes(b"x")
    assert [mi.model_format(p) for p in ("a.xml", "b.ONNX", "c.tflite", "d.pb", "e.pdmodel",
                                         "f.bin", str(tmp_path / "saved"), str(tmp_path))] == \
        ["IR", "ONNX", "TensorFlow Lite", "TensorFlow", "PaddlePaddle", "unknown",
         "TensorFlow SavedModel", "unknown"]


def test_read_model_any_reads_onnx_and_ir(det, tmp_path):
    assert shape_of(read(det), "x") == "[?,3,?,?]"
    path = conv_ir(tmp_path / "m.xml", [1, 3, ov.Dimension(1, 64), 8])
    assert shape_of(read(path), "x") == "[1,3,1..64,8]"


def test_an_unsupported_operation_is_one_line(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first"),
             helper.make_node("FancyOp", ["a"], ["y"], name="custom", domain="com.example")]
    path = save_onnx(tmp_path / "custom.onnx", nodes,
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                     domains=["com.example"])
    text = one_line_error(read, path)
    assert text.startswith(f"OpenVINO {model_read.short_version()} cannot read model {path}: ")
    assert "operation com.example.FancyOp has no conversion rule" in text
    assert "Exception from" not in text and "Check '" not in text


def test_an_operation_that_fails_to_convert_is_one_line(tmp_path):
    shape = numpy_helper.from_array(np.array([3, 5], np.int64), "shape")
    path = save_onnx(tmp_path / "reshape.onnx",
                     [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [shape])
    text = one_line_error(read, path)
    assert "operation Reshape" in text and "failed to convert" in text
    assert "Requested output shape [3,5] is incompatible with input shape" in text


# Texts OpenVINO 2026.4 and 2024.6 gave here for small ONNX models like those above.
REPORTS = {
    "unsupported 2026": (
        ("Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'false' failed at src/"
         "frontends/common_translators/src/unconverted_ops_report.cpp:151:\nFrontEnd API failed "
         "with OpConversionFailure:\nModel wasn't fully converted.\nSummary:\n-- No conversion "
         "rule found for operations: Alpha-13, Zeta-13\n\n"),
        ("operation Alpha-13 has no conversion rule in this OpenVINO (1 more unsupported: "
         "Zeta-13)")),
    "unsupported 2024": (
        ("Exception from src/inference/src/cpp/core.cpp:90:\nCheck 'false' failed at src/"
         "frontends/onnx/frontend/src/frontend.cpp:161:\nFrontEnd API failed with "
         "GeneralFailure:\nOpenVINO does not support the following ONNX operations: Zeta, "
         "Alpha\n\n"),
         "operation Zeta has no conversion rule in this OpenVINO (1 more unsupported: Alpha)"),
    "failed 2026": (
        ("Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'false' failed at x.cpp:151:"
         "\nFrontEnd API failed with OpConversionFailure:\nModel wasn't fully converted. Failed "
         "operations detailed log:\n-- Gather-13 with a message:\nWhile validating ONNX node "
         "'<Node(Gather): y>': vector::_M_range_check: __n (which is 1) >= this->size() (which "
         "is 1)\nSummary:\n-- Conversion is failed for: Gather-13\n\n"),
        ("operation Gather-13 failed to convert: vector::_M_range_check: __n (which is 1) >= "
         "this->size() (which is 1)")),
    "failed 2024": (
        ("Exception from src/inference/src/cpp/core.cpp:90:\nCheck 'false' failed at x.cpp:161:"
         "\nFrontEnd API failed with GeneralFailure:\nErrors during ONNX translation:\nWhile "
         "validating ONNX node '<Node(Gather): g1>': vector::_M_range_check: __n (which is 1) "
         ">= this->size() (which is 1)\n\n"),
        ("operation Gather failed to convert: vector::_M_range_check: __n (which is 1) >= "
         "this->size() (which is 1)")),
    "unreadable": (
        ("Exception from src/inference/src/cpp/core.cpp:84:\nException from src/inference/src/"
         "model_reader.cpp:148:\nUnable to read the model: \"junk.onnx\" Please check that "
         "model format: \".onnx\" is supported and the model is correct. Available frontends: "
         "jax paddle onnx pytorch tflite ir tf \n\n"),
         "no frontend recognises the file"),
    "other": (
        ("Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'm_fw_ptr->ParseFromIstream"
         "(&pb_stream)' failed at src/frontends/paddle/src/input_model.cpp:400:\nFrontEnd API "
         "failed with GeneralFailure:\nModel can't be parsed\n\n"),
         "Model can't be parsed"),
}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_read_failure_texts(name):
    text, expected = REPORTS[name]
    assert model_read.read_failure(text).startswith(expected)
    assert "\n" not in model_read.read_failure(text)


def test_frontend_logs_are_held_back_on_failure(tmp_path, capfd):
    # OpenVINO 2024.6's TensorFlow frontend prints pages of parser errors for such a file.
    path = tmp_path / "junk.pb"
    path.write_bytes(bytes(range(256)) * 2)
    text = one_line_error(read, str(path))
    assert "cannot read model" in text
    assert capfd.readouterr().err == ""


def test_missing_and_folder_models(tmp_path):
    assert "model not found" in one_line_error(read, str(tmp_path / "none.onnx"))
    (tmp_path / "m.onnx").write_bytes(b"")
    assert "empty file" in one_line_error(read, str(tmp_path / "m.onnx"))
    text = one_line_error(read, str(tmp_path))
    assert "is a folder: give the .onnx file inside it (it holds m.onnx)" in text
    assert "read only as a TensorFlow SavedModel, with saved_model.pb" in text


def test_a_saved_model_folder_goes_to_openvino(tmp_path):
    """A folder with saved_model.pb passes the path checks; OpenVINO's verdict is one line."""
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "saved_model.pb").write_bytes(b"not a protobuf")
    text = one_line_error(read, str(tmp_path / "saved"))
    assert f"OpenVINO {model_read.short_version()} cannot read model" in text
