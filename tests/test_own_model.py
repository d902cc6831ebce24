"""Both scripts on the user's own model: ONNX and IR files with dynamic dimensions, several
inputs and a scalar, taken with --shape, --layout and --input, and batched for real."""

import numpy as np
import openvino as ov
import pytest

from conftest import LATENCY, TIMELINE, read_records, read_summary, run_script
from ovsched import cli
from ovsched.run import model_read, runner
from ovsched.views import plots
from ovsched.run.presets import PRESETS

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

try:
    import openvino.opset13 as ops
except ImportError:  # OpenVINO 2024.x only exposes opsets under runtime
    import openvino.runtime.opset13 as ops

ONNX_OPSET = 13  # read by OpenVINO 2024.6 and later
BATCH = 4


# ------------------------------------------------------------------ models built here

@pytest.fixture(scope="module")
def det(tmp_path_factory):
    """ONNX x [N,3,H,W] -> Conv 3->4 -> Relu: a detector's first layer, any image size."""
    weight = numpy_helper.from_array(np.full((4, 3, 3, 3), 0.1, np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(
        nodes, "det", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
    path = tmp_path_factory.mktemp("det") / "det.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                                ir_version=8), str(path))
    return str(path)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """IR: ids i64, mask bool, feats f32, all [?,1..64], and a scalar rate i64."""
    dims = ov.PartialShape([-1, ov.Dimension(1, 64)])
    ids = ops.parameter(dims, ov.Type.i64, name="ids")
    mask = ops.parameter(dims, ov.Type.boolean, name="mask")
    feats = ops.parameter(dims, ov.Type.f32, name="feats")
    rate = ops.parameter(ov.PartialShape([]), ov.Type.i64, name="rate")
    y = ops.select(mask, ops.multiply(ops.convert(ids, "f32"), feats), ops.convert(rate, "f32"))
    path = tmp_path_factory.mktemp("multi") / "multi.xml"
    ov.save_model(ov.Model([y], [ids, mask, feats, rate], "multi"), str(path))
    return str(path)


MULTI_SHAPE = "--shape=ids[2,3],mask[2,3],feats[2,3],rate[]"


def conv_ir(path, shape):
    x = ops.parameter(shape, ov.Type.f32, name="x")
    w = ops.constant(np.full((4, 3, 3, 3), 0.1, np.float32))
    ov.save_model(ov.Model([ops.relu(ops.convolution(x, w, [1, 1], [1, 1], [1, 1], [1, 1]))],
                           [x], "conv"), str(path))
    return str(path)


def run(script, model, tmp_path, *args, out="o"):
    p = run_script(script, f"--model={model}", "--show=False", f"--out={tmp_path / out}", *args,
                   cwd=tmp_path)
    assert "Traceback" not in p.stderr, p.stderr
    return p


# ------------------------------------------------------------------ runs that work

def test_batch_cpu_batches_a_reshaped_dynamic_onnx_model(det, tmp_path):
    niter = 4 * BATCH
    p = run(TIMELINE, det, tmp_path, f"--device=BATCH:CPU({BATCH})", "--shape=x[1,3,32,32]",
            "--layout=x(NCHW)", f"--niter={niter}", "--interval=5", "--nireq=8")
    assert p.returncode == 0, p.stderr
    assert "shape set: x [?,3,?,?] -> [1,3,32,32]" in p.stdout
    assert "layout set: x [N,C,H,W]" in p.stdout
    assert "warning" not in p.stdout
    summary = read_summary(tmp_path / "o")
    assert summary["batching"]["batching"] is True
    assert summary["batching"]["batch_size"] == BATCH
    assert summary["model"]["format"] == "ONNX"
    assert summary["model"]["shapes"] == {"x": [1, 3, 32, 32]}
    records = read_records(tmp_path / "o")
    assert len(records) == niter
    # Requests of one batch come back in one callback burst; batches are an inference apart
    # (the 4th request is due 15 ms after the 1st). Sorted completions in runs of BATCH: the
    # widest run is narrower than the narrowest gap between runs.
    done = np.sort([float(r["completed_s"]) for r in records])
    runs = done.reshape(-1, BATCH)
    widest_run_s = float((runs[:, -1] - runs[:, 0]).max())
    narrowest_gap_s = float((runs[1:, 0] - runs[:-1, -1]).min())
    assert widest_run_s < narrowest_gap_s, (widest_run_s, narrowest_gap_s)
    # every request of a run waited for the batch to fill: earlier ones waited longer
    by_done = sorted(records, key=lambda r: float(r["completed_s"]))
    for group in np.array_split(np.arange(niter), niter // BATCH):
        waited = [float(by_done[i]["latency_ms"]) for i in group]
        submitted = [float(by_done[i]["submitted_s"]) for i in group]
        assert np.argsort(submitted).tolist() == np.argsort(waited)[::-1].tolist()


def test_several_inputs_and_a_scalar_from_an_npz_file(multi, tmp_path):
    data = tmp_path / "data.npz"
    np.savez(data, ids=np.arange(6, dtype=np.int64).reshape(2, 3),
             mask=np.ones((2, 3), bool), feats=np.ones((2, 3)), rate=np.array(16000))
    p = run(LATENCY, multi, tmp_path, "--device=CPU", MULTI_SHAPE, f"--input={data}",
            "--niter=6", "--interval=0")
    assert p.returncode == 0, p.stderr
    assert "model   " in p.stdout and "(IR)" in p.stdout
    summary = read_summary(tmp_path / "o")
    assert summary["model"]["format"] == "IR"
    assert summary["model"]["shapes"] == {"ids": [2, 3], "mask": [2, 3], "feats": [2, 3],
                                          "rate": []}
    assert summary["model"]["input_data"] == str(data)
    assert [i["type"] for i in summary["model"]["inputs"]] == ["i64", "boolean", "f32", "i64"]
    assert len(read_records(tmp_path / "o")) == 6


@pytest.mark.parametrize("input_arg", ["zeros", "random", "npy"])
def test_one_input_model_with_an_unnamed_shape(det, tmp_path, input_arg):
    if input_arg == "npy":
        input_arg = str(tmp_path / "x.npy")
        np.save(input_arg, np.full((1, 3, 16, 16), 0.5, np.float32))
    p = run(LATENCY, det, tmp_path, "--device=CPU", "--shape=[1,3,16,16]", "--layout=[NCHW]",
            f"--input={input_arg}", "--niter=4", "--interval=0")
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o")
    assert summary["model"]["shapes"] == {"x": [1, 3, 16, 16]}
    assert summary["model"]["input_data"] == input_arg


def test_a_batch_fallback_says_what_the_model_shows(tmp_path):
    model = conv_ir(tmp_path / "b2.xml", [2, 3, 8, 8])
    p = run(TIMELINE, model, tmp_path, f"--device=BATCH:CPU({BATCH})", "--niter=4",
            "--interval=0")
    assert p.returncode == 0, p.stderr
    warnings = read_summary(tmp_path / "o")["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("batching was asked for but OpenVINO runs this model "
                                  "unbatched (batch 1): input 'x' has size 2 on axis 0")
    assert '--shape="x[1,3,8,8]"' in warnings[0]
    # ... and the shape it suggests makes BATCH: batch
    p = run(TIMELINE, model, tmp_path, f"--device=BATCH:CPU({BATCH})", "--niter=4",
            "--interval=0", "--shape=x[1,3,8,8]", out="o2")
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o2")
    assert summary["warnings"] == [] and summary["batching"]["batch_size"] == BATCH


def sent_inputs(model, tmp_path, monkeypatch, **settings):
    """Run the timeline in this process and return what its requests' input tensors held."""
    seen = []
    real_init = runner.Runner.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen.append([[t.data.copy() for t in request.input_tensors] for request in self.queue])

    monkeypatch.setattr(runner.Runner, "__init__", init)
    namespace = {"model": model, "device": "CPU", "niter": 2, "interval": 0.0, "nireq": 2,
                 "show": False, "out": str(tmp_path / f"o{len(list(tmp_path.iterdir()))}"),
                 "properties": {}, **settings}
    assert cli.run_script([], str(TIMELINE), "timeline", namespace, PRESETS["timeline"]) == 0
    (requests,) = seen
    return requests


def test_every_request_sends_the_runs_input_data(multi, tmp_path, monkeypatch):
    shape = MULTI_SHAPE.split("=", 1)[1]
    random0 = sent_inputs(multi, tmp_path, monkeypatch, shape=shape, input="random", seed=0)
    again = sent_inputs(multi, tmp_path, monkeypatch, shape=shape, input="random", seed=0)
    seed1 = sent_inputs(multi, tmp_path, monkeypatch, shape=shape, input="random", seed=1)
    zeros = sent_inputs(multi, tmp_path, monkeypatch, shape=shape, input="zeros")
    ids, mask, feats, rate = random0[0]
    assert ids.dtype == np.int64 and ids.min() >= 1 and ids.max() < 10
    assert mask.dtype == np.bool_ and feats.dtype == np.float32
    assert feats.min() >= 0 and feats.max() < 1 and np.unique(feats).size == feats.size
    assert rate.shape == () and rate >= 1
    for requests in (random0, again, seed1, zeros):
        for tensors in requests[1:]:  # every request of the queue holds the same data
            assert all(np.array_equal(a, b) for a, b in zip(tensors, requests[0]))
    assert all(np.array_equal(a, b) for a, b in zip(random0[0], again[0]))
    assert not np.array_equal(random0[0][2], seed1[0][2])
    assert all(not a.any() for a in zeros[0])


def test_titles_name_the_file_format_and_shapes():
    from ovsched.data.parts import ModelInfo
    from ovsched.data.parts import as_summary
    summary = as_summary({
        "settings": {"model": "models/det.onnx", "device": "BATCH:CPU(4)"},
        "properties": {"PERFORMANCE_HINT": "THROUGHPUT"},
        "model": {"format": "ONNX", "shapes": {"x": [1, 3, 32, 32], "rate": []}}})
    assert plots.describe_run(summary) == \
        "BATCH:CPU(4), THROUGHPUT, det.onnx [ONNX, x[1,3,32,32], rate[]]"
    many = {f"input_{i}": [1, 128] for i in range(9)}
    summary.model.shapes = many
    assert len(plots.model_brief(summary.model)) <= plots.MODEL_BRIEF_CHARS + 10
    assert plots.model_brief(ModelInfo()) == ""  # a summary written before formats were recorded


# ------------------------------------------------------------------ usage errors

def bad_npz(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((1, 3, 8, 9), np.float32))
    return str(path)


def npz_without_x(tmp_path):
    path = tmp_path / "noname.npz"
    np.savez(path, image=np.zeros((1, 3, 8, 8), np.float32))
    return str(path)


def int_npy(tmp_path):
    path = tmp_path / "ints.npy"
    np.save(path, np.zeros((1, 3, 8, 8), np.int64))
    return str(path)


ERRORS = [
    # (name, extra args (a callable gets tmp_path), fragment of the one-line error)
    ("no shape for dynamic H W", [], "give a static shape, e.g. --shape=\"x[1,3,224,224]\""),
    ("shape not numbers", ["--shape=x[1,3,a,8]"], "has 'a' where a whole number >= 1 goes"),
    ("shape wrong rank", ["--shape=x[1,3,8]"], "input 'x' has 4 dimensions ([?,3,?,?]), not 3"),
    ("shape the model refuses", ["--shape=x[1,4,8,8]"], "OpenVINO cannot reshape the model"),
    ("shape unknown input", ["--shape=image[1,3,8,8]"], "names input 'image', which the model "
     "does not have; its inputs are x"),
    ("shape unreadable", ["--shape=x(1,3,8,8)"], "--shape: cannot read 'x(1,3,8,8)'"),
    ("layout letters", ["--shape=x[1,3,8,8]", "--layout=x(NCHN)"], "is not a layout"),
    ("layout rank", ["--shape=x[1,3,8,8]", "--layout=x(NC)"], "[N,C] has 2 axes but input 'x' has 4"),
    ("layout unknown input", ["--shape=x[1,3,8,8]", "--layout=y(NCHW)"], "names input 'y'"),
    ("input missing file", ["--shape=x[1,3,8,8]", "--input=none.npz"], "none.npz: file not found"),
    ("input word", ["--shape=x[1,3,8,8]", "--input=ones"], "give random, zeros, or a NumPy file"),
    ("input shape", ["--shape=x[1,3,8,8]", lambda t: f"--input={bad_npz(t)}"],
     "array 'x' has shape [1, 3, 8, 9] but input 'x' is [1, 3, 8, 8]"),
    ("input name", ["--shape=x[1,3,8,8]", lambda t: f"--input={npz_without_x(t)}"],
     "has no array for input 'x' (it holds image)"),
    ("input type", ["--shape=x[1,3,8,8]", lambda t: f"--input={int_npy(t)}"],
     "holds int64 but input 'x' takes float32"),
    ("seed negative", ["--shape=x[1,3,8,8]", "--seed=-1"], "--seed=-1: the seed is a whole number"),
]


@pytest.mark.parametrize("name, args, fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_shapes_layouts_and_inputs_are_one_line(det, tmp_path, name, args, fragment):
    argv = [a(tmp_path) if callable(a) else a for a in args]
    p = run(TIMELINE, det, tmp_path, "--device=CPU", "--niter=2", *argv)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert fragment in lines[0]
    assert "compiled in" not in p.stdout  # refused before compiling
    assert not (tmp_path / "o").exists()


def test_a_file_no_frontend_reads_is_one_line_naming_the_formats(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(bytes(range(256)) * 4)
    p = run(TIMELINE, str(bad), tmp_path, "--device=CPU")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert f"OpenVINO {model_read.short_version()} cannot read model" in lines[0]


def test_the_missing_model_message_names_the_formats(tmp_path):
    p = run(LATENCY, str(tmp_path / "none.onnx"), tmp_path)
    assert p.returncode == 2
    assert "model not found" in p.stderr and ".onnx, .tflite" in p.stderr
