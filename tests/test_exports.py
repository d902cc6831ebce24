"""Batch detection end to end, trace.json, replot and compare of saved runs."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import LATENCY, ROOT, TIMELINE, headless_env, read_records, read_summary, run_script
from ovsched.views.plots import plot_latency, plot_timeline
from ovsched.data.folder import read_run


@pytest.fixture(scope="module")
def timeout_run(tmp_path_factory, tiny_model):
    """Requests 150 ms apart with a 100 ms batch timeout: each is flushed alone."""
    tmp = tmp_path_factory.mktemp("timeout")
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=8",
                   "--interval=150", "--AUTO_BATCH_TIMEOUT=100", "--CACHE_DIR=",
                   f"--out={tmp / 'run'}", cwd=tmp)
    assert p.returncode == 0, p.stderr
    return tmp / "run"


def test_timeout_flushes_batches_of_one(timeout_run):
    summary = read_summary(timeout_run)
    assert summary["batching"]["timeout_ms"] == 100
    # the plugin never runs a partial batch: each request ran alone when the timer expired
    assert summary["batches"]["text"] == \
        "no batch of 4 filled; 8 requests ran unbatched after the 100 ms timeout (8 flushes)"
    assert summary["batches"]["count"] == 0 and summary["batches"]["flushes"] == 8
    assert summary["batches"]["requests_batched"] == 0
    assert summary["batches"]["batched_share"] == 0.0
    rows = read_records(timeout_run)
    assert [r["ran"] for r in rows] == ["timeout"] * 8
    assert sorted(int(r["flush"]) for r in rows) == list(range(8))
    assert {r["batch"] for r in rows} == {"-1"}
    # each waited for the 100 ms timer, not for a batch to fill nor for the default 1000 ms
    # timer; the bound leaves room for a busy machine's scheduling delays
    assert summary["stats"]["latency_ms"]["max"] < 2 * 100


def test_saved_labels_read_back_as_written(timeout_run, tmp_path):
    from ovsched.data.runfile import write_csv
    run = read_run(timeout_run)
    assert run["ran"].tolist() == ["timeout"] * 8
    assert run["flush"].dtype.kind == "i" and run["batch"].dtype.kind == "i"
    assert run["device_done"].tolist() == run["device"].tolist() == ["CPU"] * 8
    (tmp_path / "again").mkdir()
    write_csv(run, tmp_path / "again" / "records.csv")
    names = ("slot", "device", "device_done", "ran", "batch", "flush")
    again = read_records(tmp_path / "again")
    assert [[r[k] for k in names] for r in again] == \
        [[r[k] for k in names] for r in read_records(timeout_run)]


def test_the_1_3_2_preset_caps_a_gpu_batch_at_16():
    from ovsched.run.presets import PRESETS
    from ovsched.run.settings import apply_preset
    settings, props = {"device": "CPU"}, {"PERFORMANCE_HINT_NUM_REQUESTS": "4"}
    apply_preset("1.3.2", PRESETS["timeline"], settings, props, has_gpu=lambda: True)
    assert settings["device"] == "GPU" and settings["nireq"] == 16
    assert props["PERFORMANCE_HINT_NUM_REQUESTS"] == "16"
    assert PRESETS["timeline"]["1.3.2"]["batch_size"] == 16


def test_cpu_throughput_has_no_batches(tmp_path, tiny_model):
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=CPU", "--niter=30",
                   "--interval=1", "--PERFORMANCE_HINT=THROUGHPUT", f"--out={tmp_path / 'o'}",
                   cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o")
    assert summary["batches"]["count"] == 0 and summary["batches"]["batched_share"] == 0.0
    rows = read_records(tmp_path / "o")
    assert {r["batch"] for r in rows} == {"-1"} and {r["ran"] for r in rows} == {"single"}


def test_fixed_batch_model_warns_that_batching_fell_back(tmp_path):
    import openvino as ov
    try:
        import openvino.opset13 as ops
    except ImportError:
        import openvino.runtime.opset13 as ops
    x = ops.parameter([1, 3, 8, 8], np.float32, name="input")
    y = ops.convolution(x, ops.constant(np.ones((4, 3, 3, 3), np.float32)), [1, 1], [1, 1],
                        [1, 1], [1, 1])
    y = ops.reduce_mean(y, ops.constant(np.array([2, 3])), True)
    y = ops.reshape(y, ops.constant(np.array([1, 4])), False)  # pins the batch to 1
    path = tmp_path / "fixed.xml"
    ov.save_model(ov.Model([y], [x], "fixed"), str(path))
    p = run_script(TIMELINE, f"--model={path}", "--device=BATCH:CPU(4)", "--niter=4",
                   "--interval=0", "--CACHE_DIR=", f"--out={tmp_path / 'o'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "warning: batching was asked for but OpenVINO runs this model unbatched" in p.stdout
    summary = read_summary(tmp_path / "o")
    assert summary["warnings"] and summary["batching"]["batching"] is False
    assert summary["batches"]["count"] == 0


REQUIRED = {"X": {"name", "ph", "ts", "dur", "pid", "tid"},
            "i": {"name", "ph", "ts", "pid", "tid", "s"},
            "M": {"name", "ph", "pid", "args"},
            "C": {"name", "ph", "ts", "pid", "args"}}


def test_trace_has_the_trace_event_format(timeout_run):
    with open(timeout_run / "trace.json") as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    for event in events:
        assert REQUIRED[event["ph"]] <= set(event), event
        if event["ph"] in "Xi":
            assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0
        if event["ph"] == "X":
            assert event["dur"] >= 0
    requests = [e for e in events if e.get("cat") == "request" and e["ph"] == "X"]
    assert sorted(e["args"]["request"] for e in requests) == list(range(8))
    rows = {int(r["request"]): r for r in read_records(timeout_run)}
    for e in requests:
        r = rows[e["args"]["request"]]
        assert e["ts"] == pytest.approx(float(r["submitted_s"]) * 1e6, abs=2)
        assert e["dur"] == pytest.approx(float(r["latency_ms"]) * 1e3, abs=3)
        assert e["tid"] == int(r["slot"]) + 1
    assert len([e for e in events if e.get("cat") == "batch"]) == 0
    flushes = [e for e in events if e.get("cat") == "flush"]
    assert sorted(e["args"]["requests"] for e in flushes) == [[i] for i in range(8)]
    tracks = {e["args"]["name"]: e["tid"] for e in events if e["ph"] == "M" and e["tid"]}
    assert {e["tid"] for e in flushes} == {tracks["timeout flushes"]}
    for e in flushes:
        (i,) = e["args"]["requests"]
        assert e["ts"] == pytest.approx(float(rows[i]["completed_s"]) * 1e6, abs=2)


def test_replot_without_openvino_reproduces_the_figure_data(timeout_run, tmp_path):
    # run the entry point with openvino made unimportable
    code = ("import sys, runpy; sys.modules['openvino'] = None; "
            "sys.argv = ['ovsched', 'replot', sys.argv[1], '--out', sys.argv[2]]; "
            "runpy.run_module('ovsched', run_name='__main__')")
    p = subprocess.run([sys.executable, "-c", code, str(timeout_run), str(tmp_path / "r.png")],
                       cwd=ROOT, env=headless_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "r.png").stat().st_size > 10_000
    run = read_run(timeout_run)
    fig = plot_timeline(run)
    segments = fig.axes[0].collections[0].get_segments()
    rows = read_records(timeout_run)
    expected = sorted((float(r["submitted_s"]), float(r["completed_s"])) for r in rows)
    drawn = sorted((s[0][0], s[1][0]) for s in segments)
    assert np.allclose(drawn, expected)
    assert "8 requests ran unbatched after the 100 ms timeout" in fig.axes[0].get_title()
    # drawn as timeout-run requests (dashed, their own colour), with a legend, no counts
    from ovsched.views.plots import RAN_STYLE, TIMEOUT_COLOUR
    from matplotlib.colors import to_rgba
    lines = fig.axes[0].collections[0]
    assert {tuple(c) for c in lines.get_colors()} == {to_rgba(TIMEOUT_COLOUR)}
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert RAN_STYLE["timeout"][2] in legend and RAN_STYLE["batched"][2] not in legend
    assert not fig.axes[0].texts


def test_compare_overlays_runs_with_labels_from_their_settings(tmp_path, tiny_model):
    outs = []
    for hint in ("LATENCY", "THROUGHPUT"):
        out = tmp_path / hint
        p = run_script(LATENCY, f"--model={tiny_model}", "--niter=20", "--interval=1",
                       f"--PERFORMANCE_HINT={hint}", f"--out={out}", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        outs.append(out)
    p = subprocess.run([sys.executable, "-m", "ovsched", "compare", *map(str, outs), "--out",
                        str(tmp_path / "c.png")], cwd=ROOT, env=headless_env(),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "c.png").stat().st_size > 10_000
    from ovsched.views.plots import plot_compare
    fig = plot_compare([read_run(o) for o in outs])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("PERFORMANCE_HINT=LATENCY")
    assert labels[1].startswith("PERFORMANCE_HINT=THROUGHPUT")
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_ydata()) == pytest.approx(read_run(outs[0])["latency_ms"].tolist())


def test_replot_of_a_folder_that_is_not_a_run(tmp_path):
    p = subprocess.run([sys.executable, "-m", "ovsched", "replot", str(tmp_path)], cwd=ROOT,
                       env=headless_env(), capture_output=True, text=True)
    assert p.returncode == 2
    assert "is not a saved run (no records.csv)" in p.stderr


def test_latency_figure_marks_a_recorded_switch():
    from ovsched.derive import analysis
    from ovsched.data.records import Run
    n = 20
    devices = ["(CPU)"] * 8 + ["GPU.0"] * 12
    run = Run.from_arrays(np.arange(n) * 0.03, np.arange(n) * 0.03, np.arange(n) * 0.03 + 0.02,
                          np.zeros(n), devices, np.full(n, 19.0))
    run.summary = {"settings": {"device": "AUTO", "interval": 30}, "stats": analysis.stats(run),
                   "device_switches": analysis.device_switches(devices, run["submitted_s"],
                                                               run["latency_ms"])}
    fig = plot_latency(run)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("(CPU) \u2192 GPU.0" in t and "request 8" in t for t in texts)
