"""What real Intel hardware does that the first fakes did not: busy time credited in lumps
(GuC), clients with a history, the GPU readers' own period, the NPU's DRM file, the Windows
NPU told by its LUID, Task Manager's views, PDH's transient statuses and its query closed,
Meteor Lake's second GT, and readings captured to a file and replayed."""

import ctypes
import json
import os
import sys
import time

import numpy as np
import pytest

from ovsched import utilization
from ovsched.run.settings import LATER_KEYS, check_settings
from ovsched.errors import UsageError
from ovsched.utilization import capture, linux_drm, windows_pdh
from ovsched.utilization.sampler import GPU_UTIL_MS
from ovsched.utilization.track import Track
from test_utilization import (I915_PDEV, LUID_GPU, LUID_NPU, NPU_DEVICE_LUID, Ticker, card,
                              counter_file, i915_fdinfo, inst, residency_ms)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the fake trees stand for Linux's /proc and /sys")


def i915_text(client_id, busy_ns, cls="render", capacity=1):
    return (f"drm-driver:\ti915\ndrm-pdev:\t{I915_PDEV}\ndrm-client-id:\t{client_id}\n"
            f"drm-engine-{cls}:\t{int(busy_ns)} ns\ndrm-engine-capacity-{cls}:\t{capacity}\n")


def one_card_reader():
    return linux_drm.Reader.from_description(
        {"cards": [{"pdev": I915_PDEV, "driver": "i915", "gts": {}}]})


def feed(reader, readings):
    """Samples as columns from [(t_s, raw)] through the sampler's own rule."""
    track, columns = Track(reader), utilization.track.empty()
    for t_s, raw in readings:
        utilization.track.append(columns, t_s, track.take(t_s, raw))
    return columns


def of(columns, source, name="value"):
    return [x for s, x in zip(columns["source"], columns[name]) if s == source]


def guc_busy_ns(t_s, every_s=0.5, lump_s=0.3):
    """Busy time credited only when the context is switched out: lump_s every every_s."""
    return int(np.floor(t_s / every_s + 1e-9)) * lump_s * 1e9


def test_guc_lumps_are_capped_and_marked_and_the_mean_stays_the_counters_total():
    times = [round(0.1 * k, 1) for k in range(21)]  # 0 .. 2.0 s every 100 ms
    readings = [(t, {"fdinfo": {"5": i915_text(3, guc_busy_ns(t))}, "idle_ms": {}})
                for t in times]
    columns = feed(one_card_reader(), readings)
    shown, measured = of(columns, "gpu.render"), of(columns, "gpu.render", "uncapped")
    # each lump of 300 ms lands in one 100 ms period: 300 % measured, 100 % shown, marked
    assert max(shown) == 100.0 and min(shown) == 0.0
    assert [m for m in measured if m is not None] == pytest.approx([300.0] * 4)
    assert all(m is None for s, m in zip(shown, measured) if s < 100)
    # the mean is the counter's change between the first and the last reading over the time
    # between them (1.2 s busy in 2.0 s), not the mean of what is shown (0.4 s a lump of 4)
    stats = utilization.summarize(columns)["gpu.render"]
    truth = 100 * (guc_busy_ns(2.0) - guc_busy_ns(0.0)) / 2.0e9
    assert truth == pytest.approx(60.0)
    assert stats["mean"] == pytest.approx(truth)
    assert np.mean(shown) < truth - 30
    assert stats["capped"] == 4 and stats["max"] == 100.0


def test_a_client_with_a_history_counts_from_its_first_reading_and_a_fresh_one_from_zero():
    def raw(t):
        texts = {"5": i915_text(1, 0.1e9 * t)}
        if t >= 0.5:
            # appears mid-run with 5 s of busy time behind it: existed before sampling began
            texts["8"] = i915_text(2, 5e9 + 0.2e9 * (t - 0.5), cls="compute")
            # opened at 0.45 s (as the GPU plugin's client is while compiling): its 30 ms
            # before the first reading are its own
            texts["9"] = i915_text(3, 0.03e9 + 0.5e9 * (t - 0.5), cls="copy")
        return {"fdinfo": texts, "idle_ms": {}}

    reader = one_card_reader()
    columns = feed(reader, [(round(0.1 * k, 1), raw(round(0.1 * k, 1))) for k in range(11)])
    # the old rule counted the history from zero: 5000 % in the period it was first seen
    compute = of(columns, "gpu.compute")
    assert compute == pytest.approx([20.0] * 5)  # from the reading after its first one
    assert all(u is None for u in of(columns, "gpu.compute", "uncapped"))
    copy = of(columns, "gpu.copy")
    assert copy[0] == pytest.approx(30.0)  # 30 ms of its own in the 100 ms it was first seen
    assert copy[1:] == pytest.approx([50.0] * 5)
    assert of(columns, "gpu.render") == pytest.approx([10.0] * 10)
    assert "1 client(s)" in reader.notes()["gpu.<class>"]


def test_a_client_present_at_the_first_reading_is_its_own_baseline():
    reader = one_card_reader()
    readings = [(t, {"fdinfo": {"5": i915_text(1, 80e9 + 0.4e9 * t)}, "idle_ms": {}})
                for t in (0.0, 0.1, 0.2)]
    assert of(feed(reader, readings), "gpu.render") == pytest.approx([40.0, 40.0])


@linux_only
def test_the_gpu_readers_have_their_own_period(tmp_path, monkeypatch):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo = proc / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    card(sys_root, 0, "i915", I915_PDEV)
    monkeypatch.setenv(utilization.PROC_ROOT_ENV, str(proc))
    monkeypatch.setenv(utilization.SYS_ROOT_ENV, str(sys_root))
    with Ticker({fdinfo / "5": i915_fdinfo(7, {"render": 0.4})}):
        sampler = utilization.Sampler(50, gpu_util_ms=400).start()
        time.sleep(1.5)
        sampler.stop()
    gpu = [t for t, s in zip(sampler.samples()["time_s"], sampler.samples()["source"])
           if s == "gpu.render"]
    periods = of(sampler.samples(), "gpu.render", "period_s")
    # never read sooner than its period allows (half a tick early at most), but the last
    # reading at stop; each sample says how long its period was
    assert len(gpu) >= 2
    assert min(np.diff(gpu)[:-1], default=1.0) >= 0.4 - 0.025
    assert periods[1:] == pytest.approx(list(np.diff(gpu)))
    assert max(periods[:-1]) >= 0.375
    # the default comes from intel_gpu_top's once a second, and the setting says so
    assert GPU_UTIL_MS == LATER_KEYS["gpu_util_ms"] == 1000.0
    assert utilization.Sampler(100).gpu_period_s == 1.0
    assert utilization.Sampler(2000).gpu_period_s == 2.0  # never faster than util_ms


def test_gpu_util_ms_is_checked_before_the_run():
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(UsageError, match="--gpu_util_ms"):
            check_settings({**LATER_KEYS, "model": "m.xml", "device": "CPU", "niter": 1,
                            "interval": 1.0, "nireq": 1, "show": False, "out": "",
                            "gpu_util_ms": bad})
    with pytest.raises(ValueError, match="gpu_util_ms"):
        utilization.Sampler(100, readers=[], gpu_util_ms=0)


@linux_only
def test_the_npus_own_drm_file_is_read_once_and_skipped(tmp_path, monkeypatch):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo, fd = proc / "self" / "fdinfo", proc / "self" / "fd"
    fdinfo.mkdir(parents=True)
    fd.mkdir()
    card(sys_root, 0, "i915", I915_PDEV)
    (fdinfo / "5").write_text(i915_text(1, 1e9))
    os.symlink("/dev/dri/renderD128", fd / "5")
    (fdinfo / "7").write_text("pos:\t0\ndrm-driver:\tintel_vpu\ndrm-client-id:\t4\n"
                              "drm-total-system:\t0\n")
    os.symlink("/dev/accel/accel0", fd / "7")
    reads = []
    real = linux_drm.read_text
    monkeypatch.setattr(linux_drm, "read_text",
                        lambda path: reads.append(os.path.basename(path)) or real(path))
    reader = linux_drm.Reader(str(proc), str(sys_root))
    for _ in range(3):
        assert list(reader.fetch()["fdinfo"]) == ["5"]
    assert reads.count("7") == 1 and reads.count("5") == 3
    # the descriptor now names another file: read again
    os.remove(fd / "7")
    os.symlink("/dev/dri/renderD129", fd / "7")
    (fdinfo / "7").write_text(i915_text(2, 2e9))
    assert sorted(reader.fetch()["fdinfo"]) == ["5", "7"]


@linux_only
@pytest.mark.parametrize("driver", ["i915", "xe"])
def test_a_second_gt_is_its_own_source(tmp_path, driver):
    sys_root = tmp_path / "sys"
    folder = card(sys_root, 0, driver, I915_PDEV)
    idle = {}
    for n in (0, 1):
        rel = (folder / "gt" / f"gt{n}" / "rc6_residency_ms" if driver == "i915" else
               folder / "device" / "tile0" / f"gt{n}" / "gtidle" / "idle_residency_ms")
        idle[n] = counter_file(rel)
        idle[n].write_text("1000\n")
    (tmp_path / "proc" / "self" / "fdinfo").mkdir(parents=True)
    reader = linux_drm.Reader(str(tmp_path / "proc"), str(sys_root))
    before = reader.read()
    # in 1 s, GT 0 (render, compute) idled 750 ms, GT 1 (media: video) 100 ms
    idle[0].write_text("1750\n")
    idle[1].write_text("1100\n")
    rates = reader.rates(before, reader.read(), 1.0)
    assert rates == {"gpu.awake": pytest.approx(25.0), "gpu.awake.gt1": pytest.approx(90.0)}
    notes = reader.notes()
    assert "GT 0 only" in notes["gpu.awake"] and "media" in notes["gpu.awake.gt1"]
    # both are whole-card fallbacks: dropped where this process's engines are seen
    kept, dropped = utilization.drop_awake_where_engines(
        {"time_s": [1.0] * 3, "source": ["gpu.awake", "gpu.awake.gt1", "gpu.video"],
         "value": [25.0, 90.0, 40.0]})
    assert dropped == {"gpu.awake", "gpu.awake.gt1"} and kept["source"] == ["gpu.video"]


# ------------------------------------------------------------------------ Windows, PDH

LUID_OTHER = "0x00000000_0x0000F00D"


def test_luid_text_follows_the_luid_structs_layout():
    assert windows_pdh.luid_text(NPU_DEVICE_LUID) == LUID_NPU.lower()
    assert windows_pdh.luid_text("0100000002000000") == "0x00000002_0x00000001"
    assert windows_pdh.luid_text("not hex") is None
    assert windows_pdh.luid_text("0102") is None


HAND_WRITTEN_ADAPTERS = {
    inst(1234, LUID_GPU, 0, "3D"): 20.0,
    # Intel's NPU as public NPU monitors read it: engtype_3D instances on its own LUID
    inst(1234, LUID_NPU, 0, "3D"): 35.0, inst(77, LUID_NPU, 0, "3D"): 15.0,
    # an adapter with no 3D engine that is not the NPU (a display-only or other device)
    inst(1234, LUID_OTHER, 0, "Compute"): 9.0,
}


def test_the_npu_is_the_adapter_with_openvinos_luid():
    reader = windows_pdh.Reader(pid=1234, query=lambda: HAND_WRITTEN_ADAPTERS,
                                npu_luids=[NPU_DEVICE_LUID])
    rates = reader.rates({}, reader.read(), 1.0)
    assert rates["npu"] == 50.0 and rates["npu.process"] == 35.0
    assert not any("@1" in s for s in rates)  # the NPU's 3D engine is not a second GPU
    assert rates["gpu.render"] == 20.0
    assert not any(v == 9.0 for v in rates.values())  # the other adapter is left out
    # without OpenVINO's LUID nothing is taken for the NPU, and the reason says so
    blind = windows_pdh.Reader(pid=1234, query=lambda: HAND_WRITTEN_ADAPTERS)
    rates = blind.rates({}, blind.read(), 1.0)
    assert not any(s.startswith("npu") for s in rates)
    assert "DEVICE_LUID" in blind.unavailable()["npu"]
    assert LUID_OTHER.lower() in blind.unavailable()["npu"]


def test_task_managers_views_beside_the_class_share():
    # one compute engine of four busy with this process, another process on the 3D engine
    given = {inst(1234, LUID_GPU, 1, "Compute_0"): 100.0,
                **{inst(1234, LUID_GPU, e, f"Compute_{e - 1}"): 0.0 for e in (2, 3, 4)},
                inst(1234, LUID_GPU, 0, "3D"): 10.0, inst(555, LUID_GPU, 0, "3D"): 70.0}
    reader = windows_pdh.Reader(pid=1234, query=lambda: given)
    rates = reader.rates({}, reader.read(), 1.0)
    assert rates["gpu.compute"] == 25.0  # the class's share, the same meaning as on Linux
    assert rates["gpu.process_busiest_engine"] == 100.0  # Task Manager's process column
    assert rates["gpu.adapter_busiest_engine"] == 100.0  # Task Manager's GPU graph
    given[inst(1234, LUID_GPU, 1, "Compute_0")] = 5.0
    rates = reader.rates({}, reader.read(), 1.0)
    assert rates["gpu.process_busiest_engine"] == 10.0
    assert rates["gpu.adapter_busiest_engine"] == 80.0  # every process on the 3D engine


class FakePdh:
    """pdh.dll's five functions as the query calls them, answering from a script: each
    collection a status, each formatted array the values given (or a status)."""

    def __init__(self, collections):
        self.collections = list(collections)
        self.values = None
        self.closed = 0
        self.keep = None

    def PdhOpenQueryW(self, source, user, query):
        return 0

    def PdhAddEnglishCounterW(self, query, path, user, counter):
        return 0

    def PdhCollectQueryData(self, query):
        status, self.values = self.collections.pop(0) if self.collections else (0, {})
        return status

    def PdhGetFormattedCounterArrayW(self, counter, fmt, size, count, buf):
        if isinstance(self.values, int):
            return self.values
        items = list(self.values.items())
        if buf is None:
            size._obj.value = ctypes.sizeof(windows_pdh._Item) * len(items)
            count._obj.value = len(items)
            return windows_pdh.PDH_MORE_DATA
        array = (windows_pdh._Item * len(items)).from_buffer(buf)
        for item, (name, value) in zip(array, items):
            item.szName = name
            item.FmtValue.CStatus = 0
            item.FmtValue.value.doubleValue = value
        self.keep = array  # the names live as long as the array
        return 0

    def PdhCloseQuery(self, query):
        self.closed += 1
        return 0


def test_pdh_transient_statuses_skip_a_collection_not_the_reader():
    values = {inst(os.getpid(), LUID_GPU, 0, "3D"): 42.0}
    fake = FakePdh([(0, {})] +  # the first collection, made when the query opens
                   [(0x800007D5, None),  # PDH_NO_DATA: a new instance's first collection
                    (0, 0xC0000BC6),  # PDH_INVALID_DATA from the formatted array
                    (0, values), (0, values)])
    query = windows_pdh.PdhQuery(pdh=fake)
    assert query() is None and query() is None
    assert query() == values
    assert query.transient == {"PDH_NO_DATA": 1, "PDH_INVALID_DATA": 1}
    # another status is a failure, said with its number
    broken = windows_pdh.PdhQuery(pdh=FakePdh([(0, {}), (0xC0000BBC, None)]))
    with pytest.raises(OSError, match="0xC0000BBC"):
        broken()


def test_pdh_in_the_sampler_survives_no_data_and_closes_its_query():
    values = {inst(os.getpid(), LUID_GPU, 0, "3D"): 42.0}
    fake = FakePdh([(0, {}), (0x800007D5, None), (0x800007D5, None)] + [(0, values)] * 500)
    reader = windows_pdh.Reader(query=windows_pdh.PdhQuery(pdh=fake))
    sampler = utilization.Sampler(20, readers=[reader], gpu_util_ms=20).start()
    time.sleep(0.3)
    assert fake.closed == 0
    sampler.stop()
    assert sampler.warnings == []
    assert set(of(sampler.samples(), "gpu.render")) == {42.0}
    assert "PDH_NO_DATA x2" in sampler.notes["gpu.<class>"]
    assert fake.closed == 1
    reader.close()  # a second close does nothing
    assert fake.closed == 1


def test_a_failing_pdh_reader_is_closed_when_dropped():
    fake = FakePdh([(0, {}), (0xC0000BBC, None)])
    sampler = utilization.Sampler(20, readers=[windows_pdh.Reader(
        query=windows_pdh.PdhQuery(pdh=fake))], gpu_util_ms=20, on_warning=lambda m: None)
    sampler.start()
    time.sleep(0.1)
    sampler.stop()
    assert "0xC0000BBC" in sampler.unavailable["gpu"] and fake.closed == 1


# ------------------------------------------------------------------- capture and replay

def test_read_now_ends_a_sample_however_short():
    sampler = utilization.Sampler(5000).start()
    sampler.read_now()
    times = sampler.samples()["time_s"]
    assert times and max(times) < 5.0
    sampler.stop()


@linux_only
def test_a_capture_of_fake_trees_replays_to_the_same_samples(tmp_path, monkeypatch):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo = proc / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    card0 = card(sys_root, 0, "i915", I915_PDEV)
    card(sys_root, 1, "xe", "0000:03:00.0")
    accel = sys_root / "class" / "accel" / "accel0" / "device"
    lumps = lambda t: i915_text(7, guc_busy_ns(t, 0.3, 0.25))  # noqa: E731
    files = {fdinfo / "5": lumps,
             fdinfo / "9": i915_fdinfo(8, {"compute": 0.2}, opened_s=0.4),
             counter_file(card0 / "gt" / "gt0" / "rc6_residency_ms"): residency_ms(0.5),
             counter_file(card0 / "gt" / "gt1" / "rc6_residency_ms"): residency_ms(0.2),
             counter_file(accel / "npu_busy_time_us"): lambda t: f"{int(t * 3e5)}\n"}
    monkeypatch.setenv(utilization.PROC_ROOT_ENV, str(proc))
    monkeypatch.setenv(utilization.SYS_ROOT_ENV, str(sys_root))
    with Ticker(files):
        sampler = utilization.Sampler(40, gpu_util_ms=80, capture=True).start()
        time.sleep(0.6)
        sampler.set_origin(time.perf_counter())  # as a run does once it starts
        time.sleep(1.4)
        sampler.stop()
    path = tmp_path / "utilization_raw.jsonl"
    capture.write_raw(sampler, str(path))
    header, readings = capture.read_raw(str(path))
    assert [r["kind"] for r in header["readers"]] == ["cpu", "linux_drm", "linux_npu"]
    gpu = [r["raw"] for r in readings if r["reader"] == 1]
    assert gpu and "drm-engine-render" in gpu[-1]["fdinfo"]["5"]
    assert set(gpu[-1]["idle_ms"]) == {"0.0", "0.1"}
    replayed = capture.replay(str(path))
    live = sampler.samples()
    assert replayed["source"] == live["source"]
    for name in ("time_s", "value", "period_s"):
        assert replayed[name] == pytest.approx(live[name], rel=1e-9, abs=1e-9), name
    assert [u is None for u in replayed["uncapped"]] == [u is None for u in live["uncapped"]]
    assert {"gpu.render", "gpu.compute", "npu", "cpu"} <= set(live["source"])
    # a file that is not a capture is refused, named
    (tmp_path / "x.jsonl").write_text(json.dumps({"format": "other"}) + "\n")
    with pytest.raises(ValueError, match="not a"):
        capture.read_raw(str(tmp_path / "x.jsonl"))


def test_a_capture_of_hand_written_pdh_values_replays(tmp_path):
    readings = iter([HAND_WRITTEN_ADAPTERS, {}, HAND_WRITTEN_ADAPTERS] + [HAND_WRITTEN_ADAPTERS] * 500)
    reader = windows_pdh.Reader(pid=1234, query=lambda: next(readings),
                                npu_luids=[NPU_DEVICE_LUID])
    sampler = utilization.Sampler(20, readers=[reader], gpu_util_ms=20, capture=True).start()
    time.sleep(0.3)
    sampler.stop()
    path = tmp_path / "raw.jsonl"
    capture.write_raw(sampler, str(path))
    replayed, live = capture.replay(str(path)), sampler.samples()
    assert replayed["source"] == live["source"] and replayed["value"] == live["value"]
    assert {"npu", "npu.process", "gpu.render"} <= set(live["source"])


def test_the_npu_luid_comes_from_openvino_on_windows_only(monkeypatch):
    from ovsched.utilization import session
    import openvino as ov

    asked = []

    class Core:
        def get_property(self, device, name):
            asked.append((device, name))
            return NPU_DEVICE_LUID

    monkeypatch.setattr(ov, "Core", Core)
    assert session.npu_luids("linux") == () and asked == []
    assert session.npu_luids("win32") == (NPU_DEVICE_LUID,)
    assert asked == [("NPU", "DEVICE_LUID")]

    class NoNpu:
        def get_property(self, device, name):
            raise RuntimeError("Device with \"NPU\" name is not registered")

    monkeypatch.setattr(ov, "Core", NoNpu)
    assert session.npu_luids("win32") == ()
    # the Windows reader made for this machine is given it
    readers, _ = utilization.make_readers("win32", npu_luids=[NPU_DEVICE_LUID])
    pdh = readers[-1]
    assert pdh.kind == "windows_pdh" and pdh.npu_luids == [NPU_DEVICE_LUID]
    pdh.close()


def test_a_capture_that_cannot_be_written_is_a_warning(tmp_path):
    from ovsched.utilization import session

    sampler = utilization.Sampler(50, readers=[], capture=True).start()
    sampler.stop()
    said = []
    assert session.save_raw(sampler, str(tmp_path / "gone"), said.append) is None
    assert len(said) == 1 and said[0].startswith("warning: utilization_raw.jsonl not written")
    assert session.save_raw(sampler, str(tmp_path), said.append) == \
        str(tmp_path / session.RAW_FILE)
    header, readings = capture.read_raw(str(tmp_path / session.RAW_FILE))
    assert header["format"] == capture.FORMAT and header["readers"] == [] and readings == []
    assert session.save_raw(utilization.Sampler(50, readers=[]), str(tmp_path)) is None
