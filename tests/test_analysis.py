"""Device switches, statistics and batching read-backs on synthetic records (batch labels:
test_labels.py)."""

import numpy as np
import pytest

from ovsched.derive import analysis
from ovsched.data.records import Run

nan = float("nan")


def test_device_switch_found_with_medians_on_both_sides():
    devices = ["(CPU)"] * 5 + ["GPU.0"] * 5
    submitted = np.arange(10) * 0.03
    latency = [20, 21, 22, 21, 20, 80, 90, 85, 95, 88]
    (switch,) = analysis.device_switches(devices, submitted, latency)
    assert switch["request"] == 5 and switch["from"] == "(CPU)" and switch["to"] == "GPU.0"
    assert switch["time_s"] == pytest.approx(0.15)
    assert switch["latency_median_before_ms"] == 21
    assert switch["latency_median_after_ms"] == 88


def test_no_switch_on_one_device_and_blanks_are_ignored():
    assert analysis.device_switches(["CPU"] * 4, np.zeros(4), np.ones(4)) == []
    assert analysis.device_switches(["", "CPU", "", "CPU"], np.zeros(4), np.ones(4)) == []


def test_stats_follow_the_records():
    run = Run.from_arrays(scheduled_s=[0, 0.03, 0.06, 0.09], submitted_s=[0, 0.031, 0.06, 0.1],
                          completed_s=[0.02, 0.05, 0.09, nan], slot=[0, 1, 0, 1],
                          device=["CPU"] * 4, infer_ms=[19, 18, 29, nan])
    s = analysis.stats(run)
    assert s["count"] == 3 and s["submitted"] == 4
    assert s["latency_ms"]["median"] == pytest.approx(20)
    assert s["latency_ms"]["max"] == pytest.approx(30)
    assert s["duration_s"] == pytest.approx(0.09)
    assert s["throughput_fps"] == pytest.approx(3 / 0.09)
    assert s["lateness_ms"]["max"] == pytest.approx(10)
    assert s["first_latency_ms"] == pytest.approx(20)


def test_cache_warning_only_when_auto_could_skip_to_a_cached_accelerator(tmp_path):
    from ovsched.derive.batching import cache_warning
    (tmp_path / "abc.blob").write_bytes(b"x")
    props = {"CACHE_DIR": str(tmp_path)}
    warning = cache_warning("AUTO", props, ["CPU", "GPU.0"])
    # a blob's name does not say which device wrote it: a possibility, not a fact
    assert "may skip the CPU start-up phase if a GPU.0 blob is among them" in warning
    assert cache_warning("AUTO:GPU,CPU", props, ["CPU", "GPU.0"])
    assert cache_warning("AUTO", props, ["CPU"]) is None  # nothing to switch to
    assert cache_warning("AUTO:CPU", props, ["CPU", "GPU.0"]) is None
    assert cache_warning("GPU", props, ["CPU", "GPU.0"]) is None  # only AUTO has the phase
    assert cache_warning("AUTO", {"CACHE_DIR": str(tmp_path / "none")}, ["CPU", "GPU"]) is None
    (tmp_path / "abc.blob").unlink()
    assert cache_warning("AUTO", props, ["CPU", "GPU.0"]) is None  # empty cache


class FakeCompiled:
    """A compiled model as batching_info sees it: properties, inputs, a runtime model."""

    def __init__(self, properties, runtime_batch=1):
        import openvino as ov
        self.properties = properties
        shape = ov.PartialShape([runtime_batch, 3])
        self.runtime = type("M", (), {"inputs": [type("P", (), {
            "get_partial_shape": lambda _self: shape})()]})()
        model_shape = ov.PartialShape([1, 3])
        self.inputs = [type("P", (), {"get_partial_shape": lambda _self: model_shape})()]

    def get_property(self, name):
        if name == "SUPPORTED_PROPERTIES":
            return list(self.properties)
        if name not in self.properties:
            raise RuntimeError(f"unsupported property {name}")
        return self.properties[name]

    def get_runtime_model(self):
        return self.runtime


@pytest.mark.parametrize("device", ["AUTO:GPU", "MULTI:GPU,CPU", "AUTO:GPU,CPU"])
def test_auto_and_multi_over_a_gpu_say_the_batch_is_unknown_not_fixed(device):
    from ovsched.derive.batching import batching_info
    # AUTO shows its CPU helper's network (batch 1) and no AUTO_BATCH_TIMEOUT
    info, warning = batching_info(FakeCompiled({}), device, {"PERFORMANCE_HINT": "THROUGHPUT"})
    assert warning is None
    assert info["batching"] is None and info["batch_size"] is None
    assert "hide the batch" in info["unknown"] and "get_runtime_model" in info["unknown"]


def test_a_bare_auto_is_unknown_where_it_may_pick_a_gpu_and_single_where_it_cannot():
    from ovsched.derive.batching import batching_info
    props = {"PERFORMANCE_HINT": "THROUGHPUT"}
    # the article's 1.2.3: AUTO with THROUGHPUT on a machine with a GPU may batch there
    info, warning = batching_info(FakeCompiled({}), "AUTO", props, available=["CPU", "GPU"])
    assert info["batching"] is None and "hide the batch" in info["unknown"]
    assert warning is None
    info, _ = batching_info(FakeCompiled({}), "MULTI", props, available=["CPU", "GPU.1"])
    assert info["batching"] is None
    # with only a CPU AUTO cannot batch implicitly (a CPU has no OPTIMAL_BATCH_SIZE)
    info, warning = batching_info(FakeCompiled({}), "AUTO", props, available=["CPU"])
    assert info["batching"] is False and warning is None
    # ALLOW_AUTO_BATCHING=NO keeps a GPU from batching: that is known
    info, _ = batching_info(FakeCompiled({}), "AUTO", {**props, "ALLOW_AUTO_BATCHING": "NO"},
                            available=["CPU", "GPU"])
    assert info["batching"] is False


def test_a_gpu_itself_reports_its_batch_or_the_fall_back():
    from ovsched.derive.batching import batching_info
    props = {"PERFORMANCE_HINT": "THROUGHPUT"}
    info, warning = batching_info(FakeCompiled({"AUTO_BATCH_TIMEOUT": 1000}, 16), "GPU", props)
    assert info == {"batching": True, "batch_size": 16, "requested_batch_size": None,
                    "timeout_ms": 1000} and warning is None
    info, warning = batching_info(FakeCompiled({"AUTO_BATCH_TIMEOUT": 1000}, 1), "GPU", props)
    assert info["batching"] is False and "probably fixed" in warning
    # LATENCY never batches implicitly: nothing to warn about
    info, warning = batching_info(FakeCompiled({}), "AUTO:GPU", {"PERFORMANCE_HINT": "LATENCY"})
    assert info["batching"] is False and warning is None
