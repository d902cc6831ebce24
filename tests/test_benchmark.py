"""benchmarks/run.py --quick runs end to end and writes a well-formed list of figures.

Only the shape and sanity of the figures are checked, never their speed: the machine that
runs the tests may be busy, and the benchmark's own PASS/MISS is for a person to read."""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, headless_env

BENCHMARK = ROOT / "benchmarks" / "run.py"
SECTIONS = {"pacing", "latency", "throughput", "scale", "live_view", "own_cpu", "sampler",
            "floor", "adds"}
FLOOR = {"floor.cpu_ratio", "floor.auto_ratio"}  # judged; *_profile_ratio: information
FIELDS = {"section", "key", "figure", "value", "unit", "target", "verdict", "peers"}
COMPARISON_FIELDS = {"pairs", "ci_low", "ci_high", "ratios", "spread", "machine"}
VERDICTS = {"PASS", "MISS", "INCONCLUSIVE"}
# figures that are a duration, a rate, a size or a latency, so must be above zero
POSITIVE = {
    "pacing.p99", "pacing.max", "pacing.tick",
    "latency.median_ms", "latency.paced_median_ms", "latency.paced_ratio",
    "throughput.fps",
    "scale.rate_first", "scale.rate_last", "scale.rate_ratio", "scale.run_s",
    "scale.peak_rss_mb", "scale.read_s", "scale.write_csv_s", "scale.write_summary_s",
    "scale.write_trace_s",
    "scale.timeline_figure_s", "scale.latency_figure_s",
    "live_view.median_on_ms", "live_view.ratio", "live_view.lateness_p99_on_ms",
    "sampler.pacing_p99_on_ms", "sampler.pacing_ratio",
}
COMPARED = {"latency.ratio", "throughput.ratio"}
WINDOWED = {"live_view.median_on_ms", "live_view.ratio", "live_view.lateness_p99_on_ms"}
OWN_CPU = {"own_cpu.submit_us", "own_cpu.callback_us", "own_cpu.submit_callback_infer_pct",
           "own_cpu.submit_callback_core_pct", "own_cpu.live_view_us",
           "own_cpu.live_view_core_pct", "own_cpu.sampler_us", "own_cpu.sampler_core_pct"}
# the benchmark uses the benchmark_app of its own Python's environment, and an Xvfb of its
# own since the test takes DISPLAY away; xdotool closes the scripts' final window
HAS_BENCHMARK_APP = any(os.path.isfile(os.path.join(os.path.dirname(sys.executable), name))
                        for name in ("benchmark_app", "benchmark_app.exe"))
HAS_XVFB = bool(shutil.which("Xvfb"))
HAS_SCREEN = HAS_XVFB and bool(shutil.which("xdotool"))


@pytest.fixture(scope="module")
def bench(tmp_path_factory, cache_dir):
    """One quick run for the whole module: (figures, details, its output)."""
    tmp = tmp_path_factory.mktemp("bench")
    path = tmp / "x.json"
    p = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--json", str(path)],
                       check=False, cwd=tmp, env=headless_env(cache_dir), capture_output=True,
                       text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    with open(path) as f:
        figures = json.load(f)
    with open(tmp / "x.details.json") as f:
        details = json.load(f)
    return figures, details, p.stdout


def numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def test_structure(bench):
    figures, details, _ = bench
    assert isinstance(figures, list) and figures
    assert set(details) == {"meta", "skipped", "failed", "warnings", "sections"}
    assert all(isinstance(w, str) and w for w in details["warnings"])
    meta = details["meta"]
    assert meta["quick"] is True and meta["device"] == "CPU" and meta["standin"] is True
    assert meta["openvino_version"] and meta["model"].endswith(".xml")
    assert details["failed"] == []
    assert set(details["sections"]) == SECTIONS
    for section in details["sections"].values():
        assert section["wall_s"] > 0
    keys = [f["key"] for f in figures]
    assert len(keys) == len(set(keys))
    for f in figures:
        assert FIELDS <= set(f), f
        assert f["section"] in SECTIONS and f["key"].startswith(f["section"] + ".")
        assert f["figure"]
        if f["target"] is None or f["value"] is None:
            assert f["verdict"] is None
        else:
            assert f["target"].split()[0] in ("<=", "<", ">=", ">")
            assert f["verdict"] in VERDICTS
        if "pairs" in f:  # a paired comparison
            assert COMPARISON_FIELDS <= set(f)
            assert f["pairs"] == len(f["ratios"]) >= 1
            assert f["ci_low"] <= f["value"] <= f["ci_high"]
            assert "load average" in f["machine"] and "CPU steal" in f["machine"]
        if f["section"] == "own_cpu":
            assert "CPU time" in f["figure"]


def test_every_number_is_finite_or_said_unknown(bench):
    figures, details, _ = bench
    for f in figures:
        if f["value"] is None:
            assert f["note"], f  # unknown, and why
            continue
        values = [f["value"], *f["peers"].values(), *f.get("ratios", [])]
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in values), f
    for value in numbers(details["sections"]):
        assert math.isfinite(value)


def test_durations_rates_and_sizes_are_positive(bench):
    figures, details, _ = bench
    by_key = {f["key"]: f for f in figures}
    expected = POSITIVE - (set() if HAS_SCREEN else WINDOWED)
    assert expected <= set(by_key)
    for key in expected:
        assert by_key[key]["value"] > 0, key
    for key in COMPARED & set(by_key):
        assert all(v > 0 for v in by_key[key]["ratios"])
    # our scheduler never submits before a request is due
    assert by_key["pacing.mean"]["value"] >= 0
    assert by_key["pacing.drift"]["value"] >= 0
    if HAS_BENCHMARK_APP:
        assert by_key["latency.ratio"]["pairs"] == details["sections"]["latency"]["pairs"] >= 2


def test_own_cpu_is_reported_or_said_not_recorded(bench):
    figures, details, _ = bench
    by_key = {f["key"]: f for f in figures}
    assert OWN_CPU <= set(by_key)
    section = details["sections"]["own_cpu"]
    recorded = {"off": any(section["own_cpu_show_false"]),
                "on": any(section["own_cpu_show_true"])}
    for key in OWN_CPU:
        f = by_key[key]
        run = "on" if key.startswith("own_cpu.live_view") else "off"
        if f["value"] is None:
            assert f["note"], f
            if not recorded[run] and (run == "off" or HAS_SCREEN):
                assert "not recorded by this version" in f["note"], f
        else:
            assert recorded[run] and f["value"] >= 0, f


def test_peers_and_skips_are_reported(bench):
    figures, details, out = bench
    by_key = {f["key"]: f for f in figures}
    skipped = {(s["section"], s["what"]) for s in details["skipped"]}
    if HAS_BENCHMARK_APP:
        assert COMPARED <= set(by_key)
        assert by_key["latency.median_ms"]["peers"]["benchmark_app"] > 0
        assert by_key["throughput.fps"]["peers"]["benchmark_app"] > 0
    else:
        assert not COMPARED & set(by_key)
        assert ("latency", "benchmark_app comparison") in skipped
        assert "benchmark_app comparisons are skipped" in out
    assert "waitKey, no window" in by_key["pacing.p99"]["peers"]
    if HAS_XVFB:
        assert details["meta"]["display"].startswith("Xvfb :")
        assert "waitKey + window" in by_key["pacing.p99"]["peers"]
    else:
        assert ("pacing", "the original's loop with a window open") in skipped
    if HAS_SCREEN:
        assert WINDOWED <= set(by_key)
        assert by_key["live_view.ratio"]["peers"] == {} and \
            by_key["live_view.median_on_ms"]["peers"]["show=False"] > 0
    else:
        assert any(s[0] == "live_view" for s in skipped)
        assert "skipped: live_view" in out
    for s in details["skipped"]:
        assert s["why"]


def test_table_is_printed(bench):
    _, _, out = bench
    assert "section" in out and "target" in out and "verdict" in out and "95% CI" in out
    assert "PASS" in out or "MISS" in out or "INCONCLUSIVE" in out
    assert "load average" in out and "CPU steal" in out
    assert "results:" in out


def test_floor_figures_carry_value_target_verdict_and_interval(bench):
    figures, details, _ = bench
    by_key = {f["key"]: f for f in figures}
    skipped = {s["what"] for s in details["skipped"] if s["section"] == "floor"}
    assert FLOOR & set(by_key) or skipped
    assert "floor.cpu_ratio" in by_key  # the CPU is always there
    for key in FLOOR & set(by_key):
        f = by_key[key]
        assert "floor" in f["figure"]
        assert f["target"] == "<= 1.15" and f["verdict"] in VERDICTS
        assert f["pairs"] == details["sections"]["floor"][key.split(".")[1][:-6]]["pairs"]
        assert f["ci_low"] <= f["value"] <= f["ci_high"] and f["value"] > 0
        tool_us = by_key[key.replace("_ratio", "_tool_us")]
        assert tool_us["value"] > 0 and tool_us["peers"]["floor"] > 0
        profiled = by_key.get(key.replace("_ratio", "_profile_ratio"))
        if profiled is not None:
            assert profiled["target"] is None and profiled["verdict"] is None
            assert profiled["ci_low"] <= profiled["value"] <= profiled["ci_high"]


def test_the_floor_loop_and_the_tool_run_on_a_tiny_model(tiny_model):
    """A smoke test: both loops submit every request and measure their threads; no figure
    is judged here."""
    import numpy as np
    import openvino as ov

    from benchmarks import floor

    compiled = ov.Core().compile_model(tiny_model, "CPU")
    due_s = np.arange(12) * 0.002
    bare = floor.floor_round(compiled, 2, due_s)
    assert bare["requests"] == 12 and bare["submit_s"] > 0 and bare["callback_s"] >= 0
    assert bare["cpu_s"] == bare["submit_s"] + bare["callback_s"]
    tool = floor.tool_round(compiled, 2, due_s, "CPU")
    assert tool["requests"] == 12 and tool["submit_s"] > 0 and tool["reader_s"] == 0
    auto = floor.tool_round(ov.Core().compile_model(tiny_model, "AUTO"), 2, due_s, "AUTO")
    assert auto["requests"] == 12 and auto["reader_s"] > 0  # AUTO's device reader ran
    assert auto["cpu_s"] == pytest.approx(auto["submit_s"] + auto["callback_s"] +
                                          auto["reader_s"])
    profiled = ov.Core().compile_model(tiny_model, "CPU", {"PERF_COUNT": "YES"})
    read = floor.tool_round(profiled, 2, due_s, "CPU", profile=True)
    assert read["requests"] == 12 and read["profile_s"] > 0  # the profile reader ran
