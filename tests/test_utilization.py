"""Device utilization: readers on fake /proc and /sys trees whose counters advance at known
rates, the Windows PDH reader on hand-written values, and the CPU reader on a real busy core."""

import bisect
import os
import sys
import threading
import time

import numpy as np
import pytest

from ovsched import utilization
from ovsched.utilization import cpu, linux_drm, linux_npu, windows_pdh
from ovsched.utilization.sampler import drop_awake_where_engines

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the fake trees stand for Linux's /proc and /sys")

I915_PDEV, XE_PDEV = "0000:00:02.0", "0000:03:00.0"


class Ticker(threading.Thread):
    """Rewrites fake counter files every 2 ms; each file's text is a function of the seconds
    since the ticker started (None: the file does not exist yet)."""

    def __init__(self, files):
        super().__init__(daemon=True)
        self.files = files
        self.halt = threading.Event()
        self.t0 = time.perf_counter()
        self.written = []  # the elapsed seconds each pass of writes stands for
        self.write_all()

    def write_all(self):
        elapsed_s = time.perf_counter() - self.t0
        self.written.append(elapsed_s)
        for path, text_at in self.files.items():
            text = text_at(elapsed_s)
            if text is None:
                continue
            tmp = f"{path}.tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)  # a reader never sees half a file

    def shown_at(self, perf_s):
        """The elapsed seconds the files on disk stood for at ``perf_s``: the thread that
        writes them can lag behind the clock on a busy machine."""
        k = bisect.bisect_right(self.written, perf_s - self.t0)
        return self.written[max(k - 1, 0)]

    def run(self):
        while not self.halt.wait(0.002):
            self.write_all()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()


def card(sys_root, n, driver, pdev):
    device = sys_root / "class" / "drm" / f"card{n}" / "device"
    device.mkdir(parents=True)
    (device / "uevent").write_text(f"DRIVER={driver}\nPCI_SLOT_NAME={pdev}\n")
    # a connector directory is not a card
    (sys_root / "class" / "drm" / f"card{n}-DP-1").mkdir()
    return device.parent


def counter_file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def i915_fdinfo(client_id, rates, capacity=None, opened_s=0.0):
    """fdinfo text of an i915 client whose class ``c`` is busy ``rates[c]`` ns per ns."""
    def text(elapsed_s):
        if elapsed_s < opened_s:
            return None
        lines = ["pos:\t0", "flags:\t02100002", "drm-driver:\ti915",
                 f"drm-pdev:\t{I915_PDEV}", f"drm-client-id:\t{client_id}"]
        for cls, rate in rates.items():
            lines.append(f"drm-engine-{cls}:\t{int((elapsed_s - opened_s) * 1e9 * rate)} ns")
        for cls, n in (capacity or {}).items():
            lines.append(f"drm-engine-capacity-{cls}:\t{n}")
        return "\n".join(lines) + "\n"
    return text


def xe_fdinfo(client_id, rates, capacity=None, clock_hz=19.2e6):
    """fdinfo text of an xe client: busy cycles ``rates[c]`` times the engine clock."""
    def text(elapsed_s):
        total = int((1000.0 + elapsed_s) * clock_hz)  # a running clock, not zero at open
        lines = ["drm-driver:\txe", f"drm-pdev:\t{XE_PDEV}", f"drm-client-id:\t{client_id}"]
        for cls, rate in rates.items():
            lines.append(f"drm-cycles-{cls}:\t{int(total * rate)}")
            lines.append(f"drm-total-cycles-{cls}:\t{total}")
        for cls, n in (capacity or {}).items():
            lines.append(f"drm-engine-capacity-{cls}:\t{n}")
        return "\n".join(lines) + "\n"
    return text


def residency_ms(idle_fraction):
    return lambda elapsed_s: f"{int(5000 + elapsed_s * 1000 * idle_fraction)}\n"


def busy_us(fraction):
    return lambda elapsed_s: f"{int(7e6 + elapsed_s * 1e6 * fraction)}\n"


def sample_run(monkeypatch, proc_root, sys_root, files, util_ms=50, duration_s=2.4,
               gpu_util_ms=50, capture=False):
    monkeypatch.setenv(utilization.PROC_ROOT_ENV, str(proc_root))
    monkeypatch.setenv(utilization.SYS_ROOT_ENV, str(sys_root))
    with Ticker(files) as ticker:
        sampler = utilization.Sampler(util_ms, gpu_util_ms=gpu_util_ms,
                                      capture=capture).start()
        time.sleep(duration_s)
        sampler.stop()
    assert sampler.warnings == []
    sampler.ticker = ticker
    return sampler


def values(sampler, source, skip=0):
    s = sampler.samples()
    return np.array([v for src, v in zip(s["source"], s["value"]) if src == source][skip:])


def times(sampler, source, skip=0):
    s = sampler.samples()
    return np.array([t for src, t in zip(s["source"], s["time_s"]) if src == source][skip:])


def assert_near(sampler, source, percent, skip=0, own_clock=False):
    """The sampler's mean of ``source`` is ``percent`` of what the fake counters advanced by.
    Each measured value weighs by its period, as the summary's mean does: a stall of the thread
    that advances the fake counters moves busy time between samples (and may cap one) but not
    what the periods add up to. What the counters advanced by is the elapsed time their files
    stood for between the first and the last reading (the writer can lag on a busy machine),
    except for a counter on its own clock (xe's cycles over total cycles), which is exact."""
    s = sampler.samples()
    rows = [(t, p, v if u is None else u) for src, t, v, p, u in
            zip(s["source"], s["time_s"], s["value"], s["period_s"], s["uncapped"])
            if src == source][skip:]
    assert len(rows) >= 2, f"{source}: {len(rows)} samples"
    times, periods, measured = np.array(rows).T
    mean = float(np.sum(measured * periods) / np.sum(periods))
    first_s, last_s = times[0] - periods[0], times[-1]
    ticker = sampler.ticker
    advanced = 1.0 if own_clock else (
        ticker.shown_at(sampler.t0_perf + last_s) - ticker.shown_at(sampler.t0_perf + first_s)
    ) / (last_s - first_s)
    # an idle-residency counter (awake = 100 - idle) lags the same way as a busy one
    expected = 100 - (100 - percent) * advanced if "awake" in source else percent * advanced
    assert abs(mean - expected) < 5, (source, mean, expected, advanced, measured)
    assert all(0 <= v <= 100 for v in values(sampler, source, skip))


@linux_only
def test_i915_engines_with_and_without_capacity_and_xe_gtidle_on_a_second_card(
        tmp_path, monkeypatch):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo = proc / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    (fdinfo / "0").write_text("pos:\t0\nflags:\t02\nmnt_id:\t25\n")  # not a DRM file
    card0 = card(sys_root, 0, "i915", I915_PDEV)
    card1 = card(sys_root, 1, "xe", XE_PDEV)
    client7 = i915_fdinfo(7, {"render": 0.4, "video": 0.6, "copy": 0.0}, capacity={"video": 2})
    files = {
        fdinfo / "5": client7,
        fdinfo / "6": client7,  # a second descriptor of the same client counts once
        # a client opened later starts from zero: only its own time counts
        fdinfo / "9": i915_fdinfo(8, {"compute": 0.2}, opened_s=0.5),
        counter_file(card0 / "gt" / "gt0" / "rc6_residency_ms"): residency_ms(0.7),
        counter_file(card1 / "device" / "tile0" / "gt0" / "gtidle" / "idle_residency_ms"):
            residency_ms(0.55),
    }
    sampler = sample_run(monkeypatch, proc, sys_root, files)
    assert_near(sampler, "gpu.render", 40)
    assert_near(sampler, "gpu.video", 30)  # 0.6 of one engine's time over 2 engines
    assert_near(sampler, "gpu.copy", 0)
    assert_near(sampler, "gpu.compute", 20, skip=1)
    assert_near(sampler, "gpu.awake@1", 45)
    # card 0 has this process's own engine counters: its whole-card figure is not kept
    sources = set(sampler.samples()["source"])
    assert "gpu.awake" not in sources
    assert "gpu.awake" in sampler.notes and "gpu.awake@1" in sampler.notes
    assert "every process" in sampler.notes["gpu.awake@1"]
    assert not any(k.startswith("gpu") for k in sampler.unavailable)
    assert "npu" in sampler.unavailable


@linux_only
def test_xe_cycles_and_i915_rc6_and_two_npus(tmp_path, monkeypatch):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo = proc / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    card0 = card(sys_root, 0, "xe", XE_PDEV)
    card1 = card(sys_root, 1, "i915", I915_PDEV)
    files = {
        fdinfo / "4": xe_fdinfo(3, {"rcs": 0.35, "vcs": 1.2, "ccs": 0.5, "bcs": 0.0},
                                capacity={"vcs": 2}),
        counter_file(card0 / "device" / "tile0" / "gt0" / "gtidle" / "idle_residency_ms"):
            residency_ms(0.1),
        counter_file(card1 / "gt" / "gt0" / "rc6_residency_ms"): residency_ms(0.7),
    }
    for n, fraction in ((0, 0.25), (1, 0.8)):
        accel = sys_root / "class" / "accel" / f"accel{n}" / "device"
        files[counter_file(accel / "npu_busy_time_us")] = busy_us(fraction)
    sampler = sample_run(monkeypatch, proc, sys_root, files, duration_s=3.3)
    assert_near(sampler, "gpu.render", 35, own_clock=True)  # xe
    assert_near(sampler, "gpu.video", 60, own_clock=True)  # xe
    assert_near(sampler, "gpu.compute", 50, own_clock=True)  # xe
    assert_near(sampler, "gpu.copy", 0, own_clock=True)  # xe
    assert_near(sampler, "gpu.awake@1", 30)
    assert_near(sampler, "npu", 25)
    assert_near(sampler, "npu@1", 80)
    # the NPU is read about once a second, the rest every period (the last reading, at stop,
    # may come sooner)
    npu_times = [t for t, s in zip(sampler.samples()["time_s"], sampler.samples()["source"])
                 if s == "npu"]
    assert len(npu_times) < len(values(sampler, "gpu.render")) / 5
    assert np.diff(npu_times)[:-1].min() > 0.9
    assert sampler.unavailable == {}


@linux_only
def test_nothing_there_is_reported_with_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv(utilization.PROC_ROOT_ENV, str(tmp_path / "proc"))
    monkeypatch.setenv(utilization.SYS_ROOT_ENV, str(tmp_path / "sys"))
    sampler = utilization.Sampler(50)
    assert "i915 or xe" in sampler.unavailable["gpu"]
    assert "npu_busy_time_us" in sampler.unavailable["npu"]
    sampler.start()
    time.sleep(0.3)
    sampler.stop()
    assert {s for s in sampler.samples()["source"]} >= {"cpu", "cpu0", "process", "rss_mb"}
    assert not any(s.startswith(("gpu", "npu")) for s in sampler.samples()["source"])
    assert set(sampler.unavailable) == {"gpu", "npu"}


@linux_only
def test_a_card_without_counters_says_which_are_missing(tmp_path, monkeypatch):
    card(tmp_path / "sys", 0, "i915", I915_PDEV)
    (tmp_path / "proc" / "self" / "fdinfo").mkdir(parents=True)
    reader = linux_drm.Reader(str(tmp_path / "proc"), str(tmp_path / "sys"))
    assert reader.active
    reasons = reader.unavailable()
    assert "rc6_residency_ms" in reasons["gpu.awake"]
    assert "engine busy time" in reasons["gpu.<class>"]
    assert reader.rates(reader.read(), reader.read(), 0.1) == {}


def test_drm_counters_that_step_back_hold_the_larger_value(tmp_path):
    fdinfo = tmp_path / "proc" / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    reader = linux_drm.Reader(str(tmp_path / "proc"), str(tmp_path / "sys"))
    readings = []
    for ns in (1_000_000, 900_000, 1_050_000):
        (fdinfo / "3").write_text(f"drm-driver: i915\ndrm-client-id: 1\n"
                                  f"drm-engine-render: {ns} ns\n")
        readings.append(reader.read())
    assert reader.rates(readings[0], readings[1], 0.001)["gpu.render"] == 0
    assert reader.rates(readings[1], readings[2], 0.001)["gpu.render"] == pytest.approx(5.0)


def test_a_failing_reader_is_dropped_and_the_rest_go_on():
    class Flaky:
        name = "flaky"
        active = True
        min_period_s = 0.0
        calls = 0

        def unavailable(self):
            return {}

        def notes(self):
            return {"flaky": "test"}

        def read(self):
            self.calls += 1
            if self.calls > 3:
                raise OSError("device went away")
            return self.calls

        def rates(self, before, after, dt_s):
            return {"flaky": float(after)}

    seen = []
    sampler = utilization.Sampler(20, readers=[Flaky(), cpu.Reader()], on_warning=seen.append)
    sampler.start()
    time.sleep(0.5)
    sampler.stop()
    assert len(seen) == 1 and "device went away" in seen[0]
    assert "device went away" in sampler.unavailable["flaky"]
    assert values(sampler, "flaky").tolist() == [2.0, 3.0]
    cpu_times = [t for t, s in zip(sampler.samples()["time_s"], sampler.samples()["source"])
                 if s == "cpu"]
    flaky_times = [t for t, s in zip(sampler.samples()["time_s"], sampler.samples()["source"])
                   if s == "flaky"]
    assert max(cpu_times) > max(flaky_times)


def burn(stop):
    x = 0
    while not stop.is_set():
        x += 1


def test_a_busy_core_shows_in_process_and_cpu():
    cores = os.cpu_count()
    stop = threading.Event()
    worker = threading.Thread(target=burn, args=(stop,))
    used0_s = time.process_time()
    sampler = utilization.Sampler(100).start()
    time.sleep(0.25)
    worker.start()
    # burn until the process has used 0.6 s of CPU, however long a busy machine takes
    t0_s = time.perf_counter()
    while time.process_time() - used0_s < 0.6 or time.perf_counter() - t0_s < 1.0:
        time.sleep(0.05)
    stop.set()
    worker.join()
    time.sleep(0.25)
    sampler.stop()
    used_s = time.process_time() - used0_s  # every thread of the process, sampler included
    s = sampler.samples()

    def cpu_seconds(source, scale):
        return sum(v * p for src, v, p in zip(s["source"], s["value"], s["period_s"])
                   if src == source) / 100 * scale

    # the process's CPU time the samples add up to is what the process used meanwhile (the
    # counters tick every 10 ms; nothing is capped: one process never passes all cores)
    assert used_s >= 0.6
    assert cpu_seconds("process", cores) == pytest.approx(used_s, abs=0.05 + 0.05 * used_s)
    # all cores, every process, hold at least this process's time
    assert cpu_seconds("cpu", cores) >= cpu_seconds("process", cores) - 0.05
    whole = utilization.summarize(s)
    per_core = np.mean([whole[f"cpu{i}"]["mean"] for i in range(cores)])
    assert abs(per_core - whole["cpu"]["mean"]) < 5
    assert whole["rss_mb"]["max"] > 1
    assert 0 < sampler.cpu_s < sampler.wall_s


def test_times_follow_the_run_origin():
    sampler = utilization.Sampler(50).start()
    time.sleep(0.3)
    origin = time.perf_counter()
    sampler.set_origin(origin)
    time.sleep(0.3)
    sampler.stop()
    elapsed_s = time.perf_counter() - origin
    times = sampler.samples()["time_s"]
    assert min(times) < 0 < max(times) <= elapsed_s
    assert all(t <= elapsed_s for t, _ in sampler.latest().values())


def test_sampler_rejects_a_bad_period():
    for bad in (0, -5, "100", None):
        with pytest.raises(ValueError, match="util_ms"):
            utilization.Sampler(bad, readers=[])


# Written by hand in the shape PDH gives: one instance per process, adapter and engine.
LUID_GPU, LUID_NPU, LUID_GPU2 = "0x00000000_0x0000A1B2", "0x00000000_0x0000C3D4", \
    "0x00000000_0x0000E5F6"


def inst(pid, luid, eng, engtype):
    return f"pid_{pid}_luid_{luid}_phys_0_eng_{eng}_engtype_{engtype}"


PDH_READINGS = [
    {inst(1234, LUID_GPU, 0, "3D"): 0.0, inst(999, LUID_GPU, 0, "3D"): 50.0,
     inst(999, LUID_NPU, 0, "Compute"): 5.0, "_Total": 80.0},
    {inst(1234, LUID_GPU, 0, "3D"): 30.0, inst(999, LUID_GPU, 0, "3D"): 50.0,
     inst(1234, LUID_GPU, 1, "Compute_0"): 20.0, inst(1234, LUID_GPU, 2, "Compute_1"): 40.0,
     inst(1234, LUID_GPU, 3, "Copy"): 10.0, inst(1234, LUID_GPU, 4, "VideoDecode"): 7.0,
     inst(1234, LUID_NPU, 0, "Compute"): 45.0, inst(999, LUID_NPU, 0, "Compute"): 10.0,
     inst(1234, LUID_GPU2, 0, "3D"): 12.0},
]


# OpenVINO's DEVICE_LUID of the NPU: LUID_NPU's 8 bytes in memory order (LowPart first).
NPU_DEVICE_LUID = "d4c3000000000000"


def test_pdh_reader_sums_this_process_per_engine_type_and_finds_the_npu_by_luid():
    readings = iter(PDH_READINGS)
    reader = windows_pdh.Reader(pid=1234, query=lambda: next(readings),
                                npu_luids=[NPU_DEVICE_LUID])
    first, second = reader.read(), reader.read()
    reader.rates({}, first, 0.1)
    rates = reader.rates(first, second, 0.1)
    assert rates == {"gpu.render": 30.0, "gpu.compute": 30.0, "gpu.copy": 10.0,
                     "gpu.video": 7.0, "gpu.render@1": 12.0,
                     # Task Manager's views: the busiest engine, this process and every one
                     "gpu.process_busiest_engine": 40.0, "gpu.adapter_busiest_engine": 80.0,
                     "gpu.process_busiest_engine@1": 12.0, "gpu.adapter_busiest_engine@1": 12.0,
                     # the NPU: every process (as on Linux) and this process
                     "npu": 55.0, "npu.process": 45.0}
    assert reader.unavailable() == {}
    notes = reader.notes()
    assert {"npu", "npu.process", "gpu.<class>@1", "gpu.adapter_busiest_engine"} <= set(notes)
    assert "every process" in notes["npu"] and "this process" in notes["npu.process"]


def test_pdh_reader_in_the_sampler():
    given = {inst(1234, LUID_GPU, 0, "3D"): 25.0, inst(1234, LUID_NPU, 0, "Compute"): 60.0}
    reader = windows_pdh.Reader(pid=1234, query=lambda: given, npu_luids=[NPU_DEVICE_LUID])
    sampler = utilization.Sampler(20, readers=[reader], gpu_util_ms=20).start()
    time.sleep(0.3)
    sampler.stop()
    assert set(values(sampler, "gpu.render")) == {25.0}
    assert set(values(sampler, "npu")) == {60.0}
    assert set(values(sampler, "npu.process")) == {60.0}


@pytest.mark.skipif(sys.platform == "win32", reason="there PDH is real")
def test_pdh_reader_off_windows_is_unavailable_with_a_reason():
    reader = windows_pdh.Reader()
    assert not reader.active
    assert "GPU Engine" in reader.unavailable()["gpu"]


def test_pdh_instance_names():
    assert windows_pdh.parse_instance(inst(42, LUID_GPU, 3, "Video Codec")) == \
        (42, f"{LUID_GPU.lower()}_phys_0", 3, "Video Codec")
    assert windows_pdh.parse_instance("_Total") is None
    assert windows_pdh.type_name("Video Codec") == "video"
    assert windows_pdh.type_name("Compute_3") == "compute"
    assert windows_pdh.type_name("Security") == "security"


def test_npu_reader_rates():
    reader = linux_npu.Reader("/nonexistent")
    assert not reader.active
    reader.files = ["a", "b"]
    assert reader.rates([1_000_000, 0], [1_400_000, 1_000_000], 1.0) == \
        {"npu": pytest.approx(40.0), "npu@1": 100.0}


def test_drop_awake_only_where_the_card_has_engines():
    samples = {"time_s": [0.1] * 4, "source": ["gpu.awake", "gpu.render", "gpu.awake@1", "cpu"],
               "value": [1.0, 2.0, 3.0, 4.0]}
    kept, dropped = drop_awake_where_engines(samples)
    assert kept["source"] == ["gpu.render", "gpu.awake@1", "cpu"]
    assert kept["value"] == [2.0, 3.0, 4.0]
    assert dropped == {"gpu.awake"}


def test_summary_and_csv_round_trip(tmp_path):
    samples = {"time_s": [-0.2, 0.1, 0.2, 0.3, 0.4, 0.1],
               "source": ["cpu", "cpu", "cpu", "cpu", "cpu", "npu"],
               "value": [99.0, 10.0, 20.0, 30.0, 40.0, 5.5]}
    s = utilization.summarize(samples, start_s=0.0)
    assert s["cpu"] == {"mean": 25.0, "p50": 25.0, "p95": pytest.approx(38.5), "max": 40.0,
                        "capped": 0}
    assert s["npu"]["max"] == 5.5
    assert utilization.summarize(samples)["cpu"]["max"] == 99.0
    assert utilization.summarize(samples, end_s=0.15)["cpu"]["mean"] == pytest.approx(54.5)
    path = tmp_path / "utilization.csv"
    utilization.write_csv(samples, str(path))
    assert os.listdir(tmp_path) == ["utilization.csv"]
    assert path.read_text().splitlines()[:2] == ["time_s,source,value,period_s,uncapped",
                                                 "-0.200000,cpu,99.000,,"]
    none = [None] * len(samples["time_s"])
    assert utilization.read_csv(str(path)) == {**samples, "period_s": none, "uncapped": none}
    # a file of an earlier version (three columns) still loads, nothing in it capped
    old = tmp_path / "old.csv"
    old.write_text("time_s,source,value\n-0.200000,cpu,99.000\n0.100000,npu,5.500\n")
    assert utilization.read_csv(str(old)) == {
        "time_s": [-0.2, 0.1], "source": ["cpu", "npu"], "value": [99.0, 5.5],
        "period_s": [None, None], "uncapped": [None, None]}


def test_machine_info_names_the_machine():
    import openvino as ov

    info = utilization.machine_info(ov.Core())
    assert info["logical_cores"] == os.cpu_count()
    assert info["openvino"] == ov.get_version()
    assert info["os"]["release"]
    assert info["devices"]["CPU"]["FULL_DEVICE_NAME"]
    assert info["cpu_model"]
    if hasattr(os, "getloadavg"):
        assert len(info["load_average_1_5_15_min"]) == 3
    else:
        assert info["load_average_1_5_15_min"].startswith("unknown")
    assert utilization.machine_info()["devices"].startswith("unknown")
