"""benchmarks/run.py --quick runs end to end and writes a well-formed table.

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
SECTIONS = {"pacing", "latency", "throughput", "scale", "live_view"}
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
}
COMPARED = {"latency.round_ratios", "latency.ratio", "throughput.round_ratios",
            "throughput.ratio"}
WINDOWED = {"live_view.median_on_ms", "live_view.ratio", "live_view.lateness_p99_on_ms"}
# the benchmark uses the benchmark_app of its own Python's environment, and an Xvfb of its
# own since the test takes DISPLAY away; xdotool closes the scripts' final window
HAS_BENCHMARK_APP = any(os.path.isfile(os.path.join(os.path.dirname(sys.executable), name))
                        for name in ("benchmark_app", "benchmark_app.exe"))
HAS_XVFB = bool(shutil.which("Xvfb"))
HAS_SCREEN = HAS_XVFB and bool(shutil.which("xdotool"))


@pytest.fixture(scope="module")
def bench(tmp_path_factory, cache_dir):
    """One quick run for the whole module: (the JSON it wrote, its output)."""
    tmp = tmp_path_factory.mktemp("bench")
    path = tmp / "x.json"
    p = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--json", str(path)],
                       cwd=tmp, env=headless_env(cache_dir), capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    with open(path) as f:
        return json.load(f), p.stdout


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
    result, _ = bench
    assert set(result) == {"meta", "figures", "skipped", "failed", "warnings", "sections"}
    assert all(isinstance(w, str) and w for w in result["warnings"])
    meta = result["meta"]
    assert meta["quick"] is True and meta["device"] == "CPU" and meta["standin"] is True
    assert meta["openvino_version"] and meta["model"].endswith(".xml")
    assert result["failed"] == []
    assert set(result["sections"]) == SECTIONS
    for section in result["sections"].values():
        assert section["wall_s"] > 0
    keys = [f["key"] for f in result["figures"]]
    assert len(keys) == len(set(keys))
    for f in result["figures"]:
        assert set(f) == {"section", "key", "name", "value", "unit", "target", "result",
                          "peers"}
        assert f["section"] in SECTIONS and f["key"].startswith(f["section"] + ".")
        if f["target"] is None:
            assert f["result"] is None
        else:
            assert f["target"]["op"] in ("<=", "<", ">=")
            assert f["result"] in ("PASS", "MISS")


def test_every_number_is_finite(bench):
    result, _ = bench
    for f in result["figures"]:
        assert f["value"] is not None, f["key"]
        values = f["value"] if isinstance(f["value"], list) else [f["value"]]
        values += list(f["peers"].values())
        assert values and all(isinstance(v, (int, float)) and math.isfinite(v)
                              for v in values), f
    for value in numbers(result["sections"]):
        assert math.isfinite(value)


def test_durations_rates_and_sizes_are_positive(bench):
    result, _ = bench
    figures = {f["key"]: f for f in result["figures"]}
    expected = POSITIVE - (set() if HAS_SCREEN else WINDOWED)
    assert expected <= set(figures)
    for key in expected:
        assert figures[key]["value"] > 0, key
    for key in COMPARED & set(figures):
        values = figures[key]["value"]
        assert all(v > 0 for v in (values if isinstance(values, list) else [values]))
    # our scheduler never submits before a request is due
    assert figures["pacing.mean"]["value"] >= 0
    assert figures["pacing.drift"]["value"] >= 0
    if HAS_BENCHMARK_APP:
        assert len(figures["latency.round_ratios"]["value"]) == \
            result["sections"]["latency"]["rounds"] >= 2


def test_peers_and_skips_are_reported(bench):
    result, out = bench
    figures = {f["key"]: f for f in result["figures"]}
    skipped = {(s["section"], s["what"]) for s in result["skipped"]}
    if HAS_BENCHMARK_APP:
        assert COMPARED <= set(figures)
        assert figures["latency.median_ms"]["peers"]["benchmark_app"] > 0
        assert figures["throughput.fps"]["peers"]["benchmark_app"] > 0
    else:
        assert not COMPARED & set(figures)
        assert ("latency", "benchmark_app comparison") in skipped
        assert "benchmark_app comparisons are skipped" in out
    assert "waitKey, no window" in figures["pacing.p99"]["peers"]
    if HAS_XVFB:
        assert result["meta"]["display"].startswith("Xvfb :")
        assert "waitKey + window" in figures["pacing.p99"]["peers"]
    else:
        assert ("pacing", "the original's loop with a window open") in skipped
    if HAS_SCREEN:
        assert WINDOWED <= set(figures)
        assert figures["live_view.ratio"]["peers"] == {} and \
            figures["live_view.median_on_ms"]["peers"]["show=False"] > 0
    else:
        assert any(s[0] == "live_view" for s in skipped)
        assert "skipped: live_view" in out
    for s in result["skipped"]:
        assert s["why"]


def test_table_is_printed(bench):
    _, out = bench
    assert "section" in out and "target" in out and "peer (same run)" in out
    assert "PASS" in out or "MISS" in out
    assert "results:" in out
