"""Models other than the default: the stand-in itself, several inputs, dynamic shapes."""

import numpy as np
import openvino as ov

from conftest import TIMELINE, read_records, read_summary, run_script
from ovsched import cli
from ovsched.run import runner, standin
from ovsched.run.presets import PRESETS

try:
    import openvino.opset13 as ops
except ImportError:  # OpenVINO 2024.x
    import openvino.runtime.opset13 as ops


def test_standin_is_googlenet_sized_with_a_free_batch():
    model = standin.build_googlenet(seed=0)
    params = standin.count_parameters(model)
    assert 6_500_000 < params < 6_700_000
    assert model.input(0).any_name == "input"
    assert list(model.input(0).get_shape()) == [1, 224, 224, 3]
    assert model.output(0).any_name == "InceptionV1/Logits/Predictions/Softmax"
    assert list(model.output(0).get_shape()) == [1, 1001]
    model.reshape([4, 224, 224, 3])  # fails if a constant-shape Reshape pins the batch
    assert list(model.output(0).get_shape()) == [4, 1001]
    compiled = ov.Core().compile_model(standin.build_googlenet(seed=0), "BATCH:CPU(8)")
    assert compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS") >= 8


def save(model, path):
    ov.save_model(model, str(path))
    return str(path)


def two_input_model():
    a = ops.parameter([1, 8], np.float32, name="features")
    b = ops.parameter([1, 8], np.int32, name="ids")
    total = ops.add(a, ops.convert(b, "f32"))
    return ov.Model([ops.softmax(total, 1)], [a, b], "two")


def conv_model(shape):
    x = ops.parameter(shape, np.float32, name="image")
    w = ops.constant(np.ones((4, 3, 3, 3), np.float32))
    y = ops.convolution(x, w, [1, 1], [1, 1], [1, 1], [1, 1])
    return ov.Model([ops.reduce_mean(y, ops.constant(np.array([2, 3])), False)], [x], "c")


def test_several_inputs_each_get_data_of_their_own_type(tmp_path):
    model = save(two_input_model(), tmp_path / "two.xml")
    p = run_script(TIMELINE, f"--model={model}", "--device=CPU", "--niter=5", "--interval=0",
                   f"--out={tmp_path / 'o'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o")
    inputs = summary["model"]["inputs"]
    assert [(i["name"], i["type"]) for i in inputs] == [("features", "f32"), ("ids", "i32")]
    assert summary["model"]["input_data"] == "random"  # zeros only with --input=zeros


def test_dynamic_batch_is_set_to_one_and_said(tmp_path):
    model = save(conv_model([-1, 3, 16, 16]), tmp_path / "dyn.xml")
    p = run_script(TIMELINE, f"--model={model}", "--device=CPU", "--niter=5", "--interval=0",
                   f"--out={tmp_path / 'o'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "dynamic batch set to 1: image [?,3,16,16] -> [1,3,16,16]" in p.stdout
    assert len(read_records(tmp_path / "o")) == 5


def test_dynamic_image_size_is_refused(tmp_path):
    model = save(conv_model([1, 3, -1, -1]), tmp_path / "dyn.xml")
    p = run_script(TIMELINE, f"--model={model}", "--device=CPU", f"--out={tmp_path / 'o'}",
                   cwd=tmp_path)
    assert p.returncode == 2
    assert "model input 'image' [1,3,?,?] has dynamic dimensions" in p.stderr
    assert '--shape="image[1,3,224,224]"' in p.stderr  # ready to paste
    assert len(p.stderr.strip().splitlines()) == 1


def test_callback_failure_ends_the_run_and_keeps_the_records(tmp_path, tiny_model, monkeypatch,
                                                            capsys):
    """An error raised while a completion is stored is reported, not swallowed."""
    real_init = runner.Runner.__init__

    class FailingOrder(list):
        def append(self, i):
            if i == 5:
                raise ValueError("storage failed")
            super().append(i)

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.done_order = FailingOrder()

    monkeypatch.setattr(runner.Runner, "__init__", init)
    namespace = {"model": tiny_model, "device": "CPU", "niter": 40, "interval": 2.0, "nireq": 2,
                 "show": False, "out": str(tmp_path / "o"), "properties": {}}
    code = cli.run_script([], str(TIMELINE), "timeline", namespace, PRESETS["timeline"])
    err = capsys.readouterr().err
    assert code == 1
    assert "completion callback of request 5: ValueError: storage failed" in err
    assert "records so far saved" in err
    summary = read_summary(tmp_path / "o")
    assert summary["errors"] and summary["stop_reason"] == "error"
    assert 5 <= len(read_records(tmp_path / "o")) < 40
