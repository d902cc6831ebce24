"""The utilization sampler over whole runs: utilization.csv from compiling to the last
completion, the summary block, trace counters, the strips in the figures, fake GPU/NPU trees
seen through a real run, and the sampler stopped on every way out."""

import csv
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import ROOT, TIMELINE, headless_env, read_records, read_summary, run_script
from ovsched.run import experiment
from ovsched.views import strip
from ovsched.errors import UsageError
from ovsched.views.machines import UNKNOWN, machines_text
from ovsched.views.plots import plot_compare, plot_latency, plot_timeline
from ovsched.data.folder import read_run
from ovsched.data.parts import Machine
from ovsched.data.runfile import from_json
from ovsched.views.report import Progress
from ovsched.run.settings import LATER_KEYS
from ovsched.utilization import PROC_ROOT_ENV, SYS_ROOT_ENV
from ovsched.utilization import read_csv, write_csv
from ovsched.utilization.capture import read_raw, replay
from ovsched.utilization.session import RAW_FILE, now_text
from test_utilization import I915_PDEV, Ticker, busy_us, card, counter_file, i915_fdinfo

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the fake trees stand for Linux's /proc and /sys")


def read_samples(folder):
    with open(os.path.join(folder, "utilization.csv"), newline="") as f:
        return [(float(r["time_s"]), r["source"], float(r["value"])) for r in csv.DictReader(f)]


def of(samples, source):
    return [(t, v) for t, s, v in samples if s == source]


@pytest.fixture(scope="module")
def sampled_run(tmp_path_factory, tiny_model):
    """A timeline run of the script, sampled every 50 ms."""
    tmp = tmp_path_factory.mktemp("sampled")
    out = tmp / "run"
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=40",
                   "--interval=25", "--nireq=8", "--CACHE_DIR=", "--util_ms=50",
                   f"--out={out}", cwd=tmp)
    assert p.returncode == 0, p.stderr
    return out, p.stdout


def test_samples_cover_the_run_from_compiling_to_the_last_completion(sampled_run):
    out, stdout = sampled_run
    samples = read_samples(out)
    summary = read_summary(out)
    times = [t for t, _, _ in samples]
    # the first samples were taken while the model was read and compiled, before 0
    assert min(times) < 0
    assert any(summary["compile_started_s"] <= t < 0 for t in times)
    # the sampler ran until the last completion: its last sample is no earlier than one
    # period before it, and it stopped before the run's own clock did
    last_completion = max(float(r["completed_s"]) for r in read_records(out))
    cpu_times = [t for t, _ in of(samples, "cpu")]
    assert max(cpu_times) >= last_completion - 0.05
    assert max(times) <= summary["own_cpu"]["wall_s"]
    # one cpu sample per period, in order, with every core and the process alongside
    assert np.all(np.diff(cpu_times) > 0)
    sources = {s for _, s, _ in samples}
    assert {"cpu", "process", "rss_mb"} | {f"cpu{i}" for i in range(os.cpu_count())} <= sources
    assert all(0 <= v <= 100 for t, s, v in samples if s != "rss_mb")
    assert stdout.count("utilization not measured:") <= 1
    assert not os.path.exists(out / RAW_FILE)  # only with --util_raw=True


def test_summary_has_the_utilization_block_the_machine_and_the_sampler_cost(sampled_run):
    out, stdout = sampled_run
    summary = read_summary(out)
    block = summary["utilization"]
    assert block["period_ms"] == 50 and block["gpu_period_ms"] == 1000
    samples = read_samples(out)
    columns = read_csv(os.path.join(out, "utilization.csv"))
    for source, stats in block["sources"].items():
        values = np.array([v for t, v in of(samples, source) if t >= 0])
        assert values.size, source
        rows = [(p, v if u is None else u) for t, s, v, p, u in
                zip(*(columns[k] for k in ("time_s", "source", "value", "period_s",
                                           "uncapped"))) if s == source and t >= 0]
        periods, measured = np.array(rows).T
        assert np.all(periods > 0)
        # the mean weighs what was measured by each period; the CSV keeps 3 decimals of it
        assert stats["mean"] == pytest.approx(np.sum(periods * measured) / np.sum(periods),
                                              abs=2e-3)
        assert stats["capped"] == sum(1 for t, s, v, p, u in zip(
            *(columns[k] for k in ("time_s", "source", "value", "period_s", "uncapped")))
            if s == source and t >= 0 and u is not None)
        assert stats["max"] == pytest.approx(values.max(), abs=2e-3)
        assert stats["p50"] == pytest.approx(np.percentile(values, 50), abs=2e-3)
        assert stats["p50"] <= stats["p95"] <= stats["max"]
    assert set(block["sources"]) == {s for t, s, _ in samples if t >= 0}
    # every device is either measured or said to be missing, with a reason
    sources = set(block["sources"])
    for device in ("gpu", "npu"):
        measured = any(s.startswith(device) for s in sources)
        missing = [k for k in block["unavailable"] if k.startswith(device)]
        assert measured or missing, device
        for key in missing:
            assert block["unavailable"][key] and key.split(".")[0] in stdout
    assert block["notes"]["cpu"] and block["notes"]["process"]
    machine = summary["machine"]
    assert machine["logical_cores"] == os.cpu_count()
    assert machine["cpu_model"] and machine["python"].split()[-1] == ".".join(
        map(str, sys.version_info[:3]))
    assert "CPU" in machine["devices"] and machine["openvino"] == summary["openvino_version"]
    own = summary["own_cpu"]
    assert 0 < own["sampler_s"] <= own["sampler_wall_s"]


def test_trace_has_a_counter_track_per_source(sampled_run):
    out, _ = sampled_run
    with open(out / "trace.json") as f:
        events = json.load(f)["traceEvents"]
    counters = [e for e in events if e["ph"] == "C"]
    samples = [s for s in read_samples(out) if s[0] > 0]
    assert {e["name"] for e in counters} == {f"utilization {s}" for _, s, _ in samples}
    assert all(e["ts"] >= 0 and e["pid"] == 1 for e in counters)
    cpu = [e for e in counters if e["name"] == "utilization cpu"]
    assert [e["args"]["%"] for e in cpu] == pytest.approx([v for _, v in of(samples, "cpu")],
                                                          abs=0.01)
    # each counter starts where the period it averages began: at the previous sample
    cpu_times = [t for t, _ in of(samples, "cpu")]
    assert [e["ts"] for e in cpu[1:]] == pytest.approx([t * 1e6 for t in cpu_times[:-1]],
                                                       abs=2)
    rss = [e for e in counters if e["name"] == "utilization rss_mb"]
    assert rss and all(set(e["args"]) == {"MB"} for e in rss)


def strip_lines(ax):
    return {line.get_label(): line for line in ax.get_lines() if not
            line.get_label().startswith("_")}


def test_replot_draws_the_strip_on_the_timeline_time_axis(sampled_run, tmp_path):
    out, _ = sampled_run
    p = subprocess.run([sys.executable, "-m", "ovsched", "replot", str(out), "--out",
                        str(tmp_path / "r.png")], cwd=ROOT, env=headless_env(),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    run = read_run(out)
    fig = plot_timeline(run)
    requests, band = fig.axes[:2]
    assert band.get_shared_x_axes().joined(requests, band)
    lines = strip_lines(band)
    cpu = of(read_samples(out), "cpu")
    line = lines[strip.LABELS["cpu"]]
    # the first point is where the first period began; then one step per sample
    assert list(line.get_xdata()[1:]) == pytest.approx([t for t, _ in cpu])
    assert list(line.get_ydata()[1:]) == pytest.approx([v for _, v in cpu])
    first_period = read_csv(os.path.join(out, "utilization.csv"))["period_s"][
        read_samples(out).index((cpu[0][0], "cpu", cpu[0][1]))]
    assert line.get_xdata()[0] == pytest.approx(cpu[0][0] - first_period)
    assert "this process" in lines and "each core" in lines
    # the compile is shaded and inside the axis: the strip starts before 0
    assert band.get_xlim()[0] < 0
    # batch completions are marked in the strip: one faint line per batch
    marks = [ln for ln in band.get_lines() if ln.get_color() == strip.BATCH_MARK["color"]]
    assert len(marks) == read_summary(out)["batches"]["count"]


def test_a_run_without_samples_draws_as_before(sampled_run, tmp_path):
    out, _ = sampled_run
    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    os.remove(copy / "utilization.csv")
    run = read_run(copy)
    assert run.utilization is None
    assert len(plot_timeline(run).axes) == 1
    assert len(plot_latency(run).axes) == 1


def test_latency_strip_places_moments_at_the_requests_submitted_then(sampled_run):
    out, _ = sampled_run
    run = read_run(out)
    fig = plot_latency(run)
    graph, band = fig.axes[:2]
    line = strip_lines(band)[strip.LABELS["cpu"]]
    cpu = of(read_samples(out), "cpu")
    sub = run["submitted_s"]
    xs = line.get_xdata()[1:]  # one step per sample, after where the first period began
    assert list(line.get_ydata()[1:]) == pytest.approx([v for _, v in cpu])
    inside = [(t, x) for (t, _), x in zip(cpu, xs) if sub[0] < t < sub[-1]]
    assert inside
    for t, x in inside:
        k = int(np.searchsorted(sub, t))  # requests k-1 and k were submitted around t
        assert sub[k - 1] <= t <= sub[k]
        assert k - 1 <= x <= k
        assert x - (k - 1) == pytest.approx((t - sub[k - 1]) / (sub[k] - sub[k - 1]))
    assert graph.get_xlim() == band.get_xlim()


def test_time_to_request_between_and_beyond_the_submits():
    sub = np.array([0.0, 0.1, 0.2, 0.5])
    x = strip.time_to_request([0.05, 0.2, 0.35, -0.2, 0.7], sub, interval_ms=100)
    assert list(x) == pytest.approx([0.5, 2.0, 2.5, -2.0, 5.0])
    # no interval: the mean spacing of the submits (0.5 s over 3 steps)
    assert strip.time_to_request([1.0], sub, 0)[0] == pytest.approx(3 + 0.5 / (0.5 / 3))
    assert np.isnan(strip.time_to_request([1.0], [np.nan], 10)[0])


@linux_only
def test_fake_gpu_and_npu_trees_show_in_a_real_run(tmp_path, monkeypatch, tiny_model):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    fdinfo = proc / "self" / "fdinfo"
    fdinfo.mkdir(parents=True)
    card0 = card(sys_root, 0, "i915", I915_PDEV)
    accel = sys_root / "class" / "accel" / "accel0" / "device"
    files = {
        fdinfo / "5": i915_fdinfo(7, {"render": 0.4, "video": 0.6}, capacity={"video": 2}),
        counter_file(card0 / "gt" / "gt0" / "rc6_residency_ms"): lambda s: f"{int(s * 500)}\n",
        counter_file(accel / "npu_busy_time_us"): busy_us(0.25),
    }
    monkeypatch.setenv(PROC_ROOT_ENV, str(proc))
    monkeypatch.setenv(SYS_ROOT_ENV, str(sys_root))
    settings = {**LATER_KEYS, "model": tiny_model, "device": "CPU", "niter": 100,
                "interval": 25.0, "nireq": 4, "show": False, "out": str(tmp_path / "run"),
                "util_ms": 50.0, "gpu_util_ms": 50.0, "util_raw": True}
    said = []
    with Ticker(files):
        result = experiment.run_experiment(settings, {}, kind="timeline",
                                           say=lambda text, **_: said.append(text))
    block = result.run.summary["utilization"]
    # each mean is its counter's change from the reading before 0 to the last reading, over
    # the time between them, as the capture of what the readers read shows
    header, readings = read_raw(os.path.join(result.out, RAW_FILE))
    kinds = [r["kind"] for r in header["readers"]]

    def total(kind, value_of):
        got = [(r["t_s"], value_of(r["raw"])) for r in readings
               if kinds[r["reader"]] == kind]
        (t0, v0), (t1, v1) = [g for g in got if g[0] < 0][-1], got[-1]
        return (v1 - v0) / (t1 - t0)

    def engine(cls):
        return lambda raw: int(raw["fdinfo"]["5"].split(f"drm-engine-{cls}:")[1].split()[0])

    sources = block["sources"]
    assert sources["gpu.render"]["mean"] == pytest.approx(
        100 * total("linux_drm", engine("render")) / 1e9)
    assert sources["gpu.video"]["mean"] == pytest.approx(
        100 * total("linux_drm", engine("video")) / 2e9)  # two engines
    assert sources["npu"]["mean"] == pytest.approx(
        100 * total("linux_npu", lambda raw: raw[0]) / 1e6)
    # and the fake counters ran at their rates: 40 % and 30 % of the time they stood for
    assert sources["gpu.render"]["mean"] / sources["gpu.video"]["mean"] == pytest.approx(4 / 3)
    assert 0 < sources["gpu.render"]["mean"] <= 100
    # the whole-card figure is only the fallback where this process's engines are seen
    assert "gpu.awake" not in block.sources
    assert "every process" in block.notes["npu"]
    assert not any(k.startswith(("gpu", "npu")) for k in block.unavailable)
    assert not any(line.startswith("utilization not measured") for line in said)
    samples = read_samples(result.out)
    render = [v for t, v in of(samples, "gpu.render")]
    assert len(render) > 10 and all(0 <= v <= 100 for v in render)
    assert of(samples, "npu")
    with open(os.path.join(result.out, "trace.json")) as f:
        names = {e["name"] for e in json.load(f)["traceEvents"] if e["ph"] == "C"}
    assert {"utilization gpu.render", "utilization gpu.video", "utilization npu"} <= names
    # what each reader read, captured beside utilization.csv, replays to the same samples
    replayed = replay(os.path.join(result.out, RAW_FILE))
    assert [(s, round(t, 6), round(v, 3)) for t, s, v in zip(
        replayed["time_s"], replayed["source"], replayed["value"])] == \
        [(s, pytest.approx(t, abs=2e-6), pytest.approx(v, abs=2e-3)) for t, s, v in samples]
    labels = strip_lines(plot_timeline(read_run(result.out)).axes[1])
    assert {"gpu.render", "gpu.video", strip.LABELS["npu"]} <= set(labels)
    assert list(labels["gpu.render"].get_ydata()[1:]) == pytest.approx(render)


def test_status_line_shows_cpu_and_the_busiest_gpu_engine_and_npu():
    latest = {"cpu": (1.0, 43.2), "process": (1.0, 20.0), "gpu.render": (1.0, 12.0),
              "gpu.compute": (1.0, 80.4), "npu": (0.5, 7.0), "rss_mb": (1.0, 150.0)}
    assert now_text(latest) == "cpu 43%  gpu.compute 80%  npu 7%"
    assert now_text({"cpu": (0.1, 5.0)}) == "cpu 5%"

    class Runner:
        n_submitted, n_completed, niter, done_order = 3, 0, 10, []

    progress = Progress(10.0)
    assert "cpu" not in progress.line(Runner())
    progress.utilization = lambda: latest
    assert progress.line(Runner()).endswith("cpu 43%  gpu.compute 80%  npu 7%")


def sampler_threads():
    return [t for t in threading.enumerate() if t.name == "ovsched-util" and t.is_alive()]


def test_sampling_off_writes_no_samples_and_says_so(tmp_path, tiny_model):
    settings = {**LATER_KEYS, "model": tiny_model, "device": "CPU", "niter": 5,
                "interval": 5.0, "nireq": 2, "show": False, "out": str(tmp_path / "off"),
                "util_ms": 0.0}
    result = experiment.run_experiment(settings, {}, kind="latency")
    assert not os.path.exists(os.path.join(result.out, "utilization.csv"))
    block = result.run.summary.utilization
    assert block.sources == {} and "util_ms=0" in block.unavailable["all"]
    assert result.run.summary.own_cpu.sampler_s is None
    assert len(result.figure.axes) == 1
    assert sampler_threads() == []


def test_the_sampler_stops_after_a_usage_error_past_its_start(tmp_path, tiny_model):
    settings = {**LATER_KEYS, "model": tiny_model, "device": "NOSUCHDEVICE", "niter": 5,
                "interval": 5.0, "nireq": 2, "show": False, "out": str(tmp_path / "bad"),
                "util_ms": 20.0}
    with pytest.raises(UsageError):
        experiment.run_experiment(settings, {}, kind="timeline")
    assert sampler_threads() == []


def machine(cpu_model, cores=2):
    return {"cpu_model": cpu_model, "logical_cores": cores, "memory_gb": 16.0,
            "os": {"system": "Linux", "release": "6.8"}, "openvino": "2025.1",
            "devices": {"CPU": {"FULL_DEVICE_NAME": cpu_model}}}


def test_compare_names_the_machines_only_when_they_differ(sampled_run, tmp_path):
    out, _ = sampled_run
    runs = [read_run(out), read_run(out)]
    assert machines_text(runs, ["a", "b"]) == []
    runs[1].summary.machine = from_json(Machine, machine("Intel Core Ultra 7 155H", 22))
    lines = machines_text(runs, ["a", "b"])
    assert lines[0].startswith("a: ") and "cores" in lines[0]
    assert lines[1].startswith("b: Intel Core Ultra 7 155H, 22 cores")
    fig = plot_compare(runs, ["a", "b"])
    assert "different machines" in fig.get_supxlabel()
    # a strip under each timeline that has samples
    assert len(fig.axes) == 4
    runs[1].summary.machine = None
    assert UNKNOWN in machines_text(runs, ["a", "b"])[1]
    # the command says it too
    other = tmp_path / "other"
    shutil.copytree(out, other)
    summary = read_summary(other)
    summary["machine"] = machine("Intel Core Ultra 7 155H", 22)
    (other / "summary.json").write_text(json.dumps(summary))
    p = subprocess.run([sys.executable, "-m", "ovsched", "compare", str(out), str(other),
                        "--out", str(tmp_path / "c.png")], cwd=ROOT, env=headless_env(),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "measured on different machines" in p.stdout and "Core Ultra" in p.stdout


def test_capped_samples_are_marked_in_the_strip_and_an_older_csv_still_draws(sampled_run,
                                                                           tmp_path):
    out, _ = sampled_run
    copy = tmp_path / "capped"
    shutil.copytree(out, copy)
    columns = read_csv(os.path.join(copy, "utilization.csv"))
    marked = [k for k, s in enumerate(columns["source"]) if s == "process"][2:5]
    for k in marked:  # as a GuC lump would: 250 % measured, shown at 100
        columns["value"][k], columns["uncapped"][k] = 100.0, 250.0
    write_csv(columns, os.path.join(copy, "utilization.csv"))
    assert read_csv(os.path.join(copy, "utilization.csv"))["uncapped"].count(250.0) == 3
    band = plot_timeline(read_run(copy)).axes[1]
    marks = [c for c in band.collections if c.get_label() == strip.CAPPED_LABEL]
    assert len(marks) == 1
    assert sorted(marks[0].get_offsets()[:, 0]) == pytest.approx(
        sorted(columns["time_s"][k] for k in marked))
    # utilization.csv of an earlier version: three columns, nothing marked, the strip drawn
    with open(copy / "utilization.csv", "w") as f:
        f.write("time_s,source,value\n")
        for t, s, v in read_samples(out):
            f.write(f"{t:.6f},{s},{v:.3f}\n")
    run = read_run(copy)
    assert set(run.utilization["uncapped"]) == {None}
    band = plot_timeline(run).axes[1]
    assert not [c for c in band.collections if c.get_label() == strip.CAPPED_LABEL]
    cpu = of(read_samples(out), "cpu")
    line = strip_lines(band)[strip.LABELS["cpu"]]
    assert line.get_xdata()[0] == pytest.approx(cpu[0][0] - 0.05)  # the run's util_ms


class RecordedSampler:
    period_s = 0.1

    def __init__(self, columns):
        self.columns = columns

    def samples(self, since=0):
        return {k: v[since:] for k, v in self.columns.items()}

    def latest(self):
        return {}


def test_the_live_strip_ticks_capped_samples():
    from ovsched.views.live_strip import CAPPED_COLOUR, LiveStrip

    def image(uncapped):
        columns = {"time_s": [0.1, 0.2, 0.3], "source": ["gpu.render"] * 3,
                   "value": [20.0, 100.0, 30.0], "period_s": [0.1] * 3,
                   "uncapped": [None, uncapped, None]}
        live = LiveStrip(RecordedSampler(columns), 300, 70, 20, 20)
        live.update(lambda t: 20 + np.asarray(t) * 500, scale=1)
        return live.image

    marked = np.all(image(400.0) == CAPPED_COLOUR, axis=-1)
    assert marked.any() and not np.all(image(None) == CAPPED_COLOUR, axis=-1).any()
    assert abs(np.nonzero(marked)[1].mean() - (20 + 0.2 * 500)) < 3
