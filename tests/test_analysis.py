"""Batch grouping, device switches and statistics on synthetic records."""

import numpy as np
import pytest

from ovsched import analysis
from ovsched.records import Run

nan = float("nan")


def test_one_request_is_one_group():
    assert analysis.batch_groups([0.5], batch_size=8).tolist() == [0]
    s = analysis.batch_summary(np.array([0]), 8, 1000)
    assert s["count"] == 1 and s["cut_short"] == 1 and s["text"] == "1 batch of 1 (timeout)"


def test_full_batches_and_a_timeout_flush():
    # two batches of 4 completing together, then 3 flushed by the timeout
    completed = [0.100, 0.1001, 0.1002, 0.1003, 0.300, 0.3002, 0.3001, 0.3004, 1.5, 1.5002, 1.5001]
    ids = analysis.batch_groups(completed, batch_size=4)
    assert ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    s = analysis.batch_summary(ids, 4, 1000)
    assert s["sizes"] == {"3": 1, "4": 2}
    assert s["cut_short"] == 1
    assert s["text"] == "2 batches of 4, 1 of 3 (timeout)"


def test_out_of_order_completions_group_by_time_not_index():
    completed = [0.2, 0.1, 0.2001, 0.1002, 0.1001, 0.2002]
    assert analysis.batch_groups(completed, batch_size=3).tolist() == [1, 0, 1, 0, 0, 1]


def test_size_cap_separates_batches_of_two_parallel_streams():
    # two batches of 2 from two streams finishing 0.5 ms apart: time alone would merge them
    completed = [0.1000, 0.1001, 0.1005, 0.1006]
    assert analysis.batch_groups(completed, batch_size=2).tolist() == [0, 0, 1, 1]


def test_saturated_callbacks_a_few_ms_apart_stay_one_batch():
    completed = [0.1, 0.102, 0.1045, 0.107]
    assert analysis.batch_groups(completed, batch_size=4).tolist() == [0, 0, 0, 0]


def test_a_gap_longer_than_a_callback_burst_starts_a_new_batch():
    # 1.0 ms, 1.3 ms apart: one burst; then 40 ms later the next one
    completed = [0.100, 0.101, 0.1023, 0.140, 0.141]
    assert analysis.batch_groups(completed, batch_size=8).tolist() == [0, 0, 0, 1, 1]


def test_requests_never_completed_get_no_group():
    ids = analysis.batch_groups([0.1, nan, 0.1001], batch_size=2)
    assert ids.tolist() == [0, -1, 0]


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
    from ovsched.batching import cache_warning
    (tmp_path / "abc.blob").write_bytes(b"x")
    props = {"CACHE_DIR": str(tmp_path)}
    warning = cache_warning("AUTO", props, ["CPU", "GPU.0"])
    assert "skips the CPU start-up phase" in warning and "GPU.0" in warning
    assert cache_warning("AUTO:GPU,CPU", props, ["CPU", "GPU.0"])
    assert cache_warning("AUTO", props, ["CPU"]) is None  # nothing to switch to
    assert cache_warning("AUTO:CPU", props, ["CPU", "GPU.0"]) is None
    assert cache_warning("GPU", props, ["CPU", "GPU.0"]) is None  # only AUTO has the phase
    assert cache_warning("AUTO", {"CACHE_DIR": str(tmp_path / "none")}, ["CPU", "GPU"]) is None
    (tmp_path / "abc.blob").unlink()
    assert cache_warning("AUTO", props, ["CPU", "GPU.0"]) is None  # empty cache
