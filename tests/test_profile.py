"""Profiling: the ``profile`` setting, the reader off the callback and submit threads with
its per-slot gate, and which profiles are provably a request's own."""

import threading

import numpy as np
import pytest

from ovsched.derive import profiles
from ovsched.errors import UsageError
from ovsched.run import profile
from ovsched.run.experiment import run_experiment
from conftest import TIMELINE, headless_env, run_script


@pytest.mark.parametrize("device, available, on", [
    ("CPU", ["CPU"], True), ("BATCH:CPU(4)", ["CPU"], True), ("AUTO", ["CPU"], True),
    ("AUTO:CPU", ["CPU", "GPU"], True), ("AUTO", ["CPU", "GPU"], False),
    ("GPU", ["CPU", "GPU"], False), ("BATCH:GPU(8)", ["CPU", "GPU"], False),
    ("NPU", ["CPU", "NPU"], False), ("MULTI:CPU,GPU", ["CPU", "GPU"], False)])
def test_auto_reads_profiles_where_the_device_is_the_cpu(device, available, on):
    d = profile.decide("auto", device, {}, available)
    assert d.on is on
    assert ("PERF_COUNT" in d.properties) is on
    if not on:
        assert "--profile=on" in d.why


def test_on_off_and_a_given_perf_count():
    on = profile.decide("on", "GPU", {"PERFORMANCE_HINT": "LATENCY"}, ["CPU", "GPU"])
    assert on.on and on.properties == {"PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": "YES"}
    assert on.perf_count == "YES (added by profile)"
    off = profile.decide("off", "CPU", {}, ["CPU"])
    assert not off.on and off.properties == {}
    kept = profile.decide("auto", "CPU", {"PERF_COUNT": "YES"}, ["CPU"])
    assert kept.on and kept.perf_count == "YES (given)"
    refused = profile.decide("on", "CPU", {"PERF_COUNT": "NO"}, ["CPU"])
    assert not refused.on and "PERF_COUNT=NO" in refused.why
    assert refused.properties == {"PERF_COUNT": "NO"}  # the user's value is kept


def test_a_bad_profile_setting_stops_before_the_run(tmp_path):
    with pytest.raises(UsageError, match="--profile=sometimes: use auto"):
        profile.check_setting("sometimes")
    assert profile.check_setting(" ON ") == "on"
    done = run_script(TIMELINE, "--profile=maybe", f"--out={tmp_path / 'o'}", cwd=tmp_path,
                      env=headless_env())
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --profile=maybe: use auto (on where the device is the CPU), on or off"]
    assert not (tmp_path / "o").exists()


class FakeInfo:
    def __init__(self, us):
        import datetime
        self.real_time = datetime.timedelta(microseconds=us)
        self.cpu_time = datetime.timedelta(microseconds=us)


class FakeRequest:
    """A request whose profile can only be read once the test allows it."""

    def __init__(self, us):
        self.us = us
        self.allow = threading.Event()

    @property
    def profiling_info(self):
        self.allow.wait()
        return [FakeInfo(self.us), FakeInfo(2 * self.us)]


def test_a_slot_is_not_reused_before_its_profile_is_read():
    requests = [FakeRequest(100), FakeRequest(200)]
    done_order = []
    slot_of = np.array([0, 1, 0])
    reader = profile.ProfileReader(requests, 3, lambda: 1.0, slot_of, lambda: done_order)
    reader.start()
    stop = threading.Event()
    reader.claim(0, 0, False, stop)  # a fresh slot: nothing to wait for
    reader.claim(1, 1, False, stop)
    done_order.append(0)  # request 0 completed; its profile cannot be read yet
    reader.completed()
    claimed = threading.Event()

    def submit_next():
        reader.claim(0, 2, True, stop)
        claimed.set()

    submitter = threading.Thread(target=submit_next)
    submitter.start()
    assert not claimed.wait(0.2)  # held at the gate while the profile is unread
    requests[0].allow.set()
    submitter.join(10)
    assert claimed.is_set() and reader.gate_wait_ms[2] > 0
    requests[1].allow.set()
    done_order.append(1)
    reader.completed()
    reader.finish()
    assert reader.sum_ms[:2].tolist() == [0.3, 0.6]
    assert reader.key_id[:2].tolist() == [0, 1] and reader.read_s[1] == 1.0
    block = reader.block(3)
    assert block["read"] == 2 and block["gate_waits"] == 1


def test_a_failed_request_leaves_no_profile_to_wait_for():
    reader = profile.ProfileReader([FakeRequest(1)], 2, lambda: 0.0, np.array([0, 0]), list)
    reader.start()
    stop = threading.Event()
    reader.claim(0, 0, False, stop)
    reader.claim(0, 1, False, stop)  # request 0 never called back: no wait
    reader.finish()
    assert reader.gate_wait_ms.tolist() == [0.0, 0.0]


def test_a_profile_read_after_another_inference_may_have_run_is_not_own():
    # request 0 ends at 10 ms and is read at 11 ms; request 1 is submitted at 10.5 ms:
    # it may have run on the stream before the reading. Request 2 runs alone.
    sub = np.array([0.000, 0.0105, 0.100])
    done = np.array([0.0102, 0.020, 0.110])
    infer = np.array([10.0, 9.0, 9.5])
    read = np.array([0.011, 0.0205, 0.1102])
    alone = -1 - np.arange(3)
    assert profiles.others_in_window(sub, done, infer, read, alone).tolist() == [1, 0, 0]
    together = np.array([5, 5, 6])  # 0 and 1 in one group: no other inference
    assert profiles.others_in_window(sub, done, infer, read, together).tolist() == [0, 0, 0]
    never = profiles.others_in_window(sub, done, infer, np.array([np.nan, 0.0205, np.nan]),
                                      alone)
    assert never.tolist() == [-1, 0, -1]
    # a request that never completed counts as running until the end
    open_end = profiles.others_in_window(sub, np.array([0.0102, np.nan, 0.110]), infer,
                                         np.array([0.011, np.nan, 0.1102]), alone)
    assert open_end.tolist() == [1, -1, 1]


def cpu_run(tmp_path, tiny_model, **extra):
    settings = {"model": tiny_model, "device": "CPU", "niter": 12, "interval": 2.0,
                "nireq": 4, "show": False, "out": str(tmp_path / "o"), "util_ms": 0.0}
    settings.update(extra)
    return run_experiment(settings, {}, kind="latency").run


def test_profile_off_measures_no_compute_and_says_so(tmp_path, tiny_model):
    run = cpu_run(tmp_path, tiny_model, profile="off")
    assert np.isnan(run["compute_ms"]).all() and (run["profile_id"] == -1).all()
    assert "profile_read_s" not in run.columns
    text = profiles.text(run.summary.profile, 12)
    assert text == "compute not measured (profile=off)"


@pytest.mark.parametrize("device", ["CPU", "AUTO", "BATCH:CPU(4)"])
def test_real_runs_keep_only_profiles_that_are_provably_own(tmp_path, tiny_model, device):
    settings = {"model": tiny_model, "device": device, "niter": 24, "interval": 1.0,
                "nireq": 4, "show": False, "out": str(tmp_path / "o"), "util_ms": 0.0}
    run = run_experiment(settings, {"AUTO_BATCH_TIMEOUT": "20"} if "BATCH" in device else {},
                         kind="latency").run
    s = run.summary.profile
    assert s["on"] and s["perf_count"] == "YES (added by profile)"
    assert s["read"] + s["skipped"] == len(run) and s["errors"] == []
    assert s["own"] + s["not_own"] == s["read"]
    if run.summary["batching"]["batching"]:
        assert s["skipped"] == 0  # batch members are read: their worker may share one
    # the reader's own CPU time is measured (per reading, where any was read)
    assert s["reader_cpu_ms_per_request"] is not None
    assert (s["read_cpu_ms_per_read"] is None) == (s["read"] == 0)
    batch = run.summary["batching"]["batch_size"] if run.summary["batching"]["batching"] else 1
    group = profiles.batch_groups(run["ran"], run["batch"])
    others = profiles.others_in_window(run["submitted_s"], run["completed_s"],
                                       run["infer_ms"], run["profile_read_s"], group)
    measured = ~np.isnan(run["compute_ms"])
    assert measured.tolist() == (others == 0).tolist()
    assert np.all(run["compute_ms"][measured] > 0)
    assert np.all(run["profile_id"][measured] >= 0)
    # members of one batch report the one batched inference
    for b in set(run["batch"][measured & (run["ran"] == "batched")].tolist()):
        ids = run["profile_id"][measured & (run["batch"] == b)]
        assert len(set(ids.tolist())) == 1
    if batch > 1:  # the labels' witness: kept where nothing outside the worker ran
        kept = profiles.others_in_window(run["submitted_s"], run["completed_s"],
                                         run["infer_ms"], run["profile_read_s"],
                                         profiles.worker_groups(run["slot"], batch)) == 0
        assert (run["profile_id"] >= 0).tolist() == kept.tolist()
    assert run["gate_wait_ms"].shape == (len(run),)


def test_where_another_request_is_in_flight_nothing_is_read():
    request = FakeRequest(5)  # never allowed: reading it would hang the test
    reader = profile.ProfileReader([request], 1, lambda: 2.0, np.array([0]), lambda: [0],
                                   busy=lambda: True)
    reader.start()
    reader.claim(0, 0, False, threading.Event())
    reader.completed()
    reader.finish()
    assert reader.skipped.tolist() == [True] and np.isnan(reader.sum_ms[0])
    assert reader.read_s[0] == 2.0 and reader.block(1)["skipped"] == 1
