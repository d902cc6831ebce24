"""The benchmark's statistics on synthetic data: paired ratios, bootstrap interval, verdicts,
the machine readers and the own-CPU figures. Fast, no OpenVINO."""

import math

import numpy as np
import pytest

from benchmarks import machine, pairs
from benchmarks import own_cpu as ocf

LOWER = ("<=", 1.05)  # e.g. our latency / benchmark_app's
HIGHER = (">=", 0.97)  # e.g. our FPS / benchmark_app's


def ratios_around(center, scatter, n=12, seed=1):
    return center + np.random.default_rng(seed).uniform(-scatter, scatter, n)


def test_abba_order_alternates_who_goes_first():
    assert pairs.abba_order(4) == [("A", "B"), ("B", "A"), ("A", "B"), ("B", "A")]
    calls = []
    a, b = pairs.run_pairs(lambda: calls.append("A") or len(calls),
                           lambda: calls.append("B") or -len(calls), 3)
    assert "".join(calls) == "ABBAAB"
    assert a == [1, 4, 5] and b == [-2, -3, -6]


def test_clear_pass():
    ratios = ratios_around(0.95, 0.02)
    low, high = pairs.bootstrap_median_ci(ratios)
    assert 0.93 <= low <= np.median(ratios) <= high <= 0.97
    assert pairs.verdict(low, high, LOWER, len(ratios)) == "PASS"
    assert pairs.verdict(*pairs.bootstrap_median_ci(ratios + 0.1), HIGHER, 12) == "PASS"


def test_clear_miss():
    ratios = ratios_around(1.20, 0.03)
    low, high = pairs.bootstrap_median_ci(ratios)
    assert low > 1.05
    assert pairs.verdict(low, high, LOWER, len(ratios)) == "MISS"
    assert pairs.verdict(*pairs.bootstrap_median_ci(ratios - 0.4), HIGHER, 12) == "MISS"


def test_straddle_is_inconclusive():
    ratios = ratios_around(1.05, 0.2)
    low, high = pairs.bootstrap_median_ci(ratios)
    assert low < 1.05 < high
    assert pairs.verdict(low, high, LOWER, len(ratios)) == "INCONCLUSIVE"


def test_too_few_pairs_or_no_interval_is_inconclusive():
    assert pairs.verdict(0.9, 0.91, LOWER, n_pairs=pairs.MIN_PAIRS - 1) == "INCONCLUSIVE"
    assert pairs.verdict(math.nan, math.nan, LOWER, n_pairs=10) == "INCONCLUSIVE"


def test_interval_is_reproducible_and_resamples_whole_pairs():
    ratios = ratios_around(1.0, 0.3, n=15, seed=7)
    assert pairs.bootstrap_median_ci(ratios) == pairs.bootstrap_median_ci(ratios)
    low, high = pairs.bootstrap_median_ci(ratios)
    # a median of resampled pairs can only be a pair's ratio or between two of them
    assert ratios.min() <= low <= high <= ratios.max()
    # more confidence, wider interval
    low99, high99 = pairs.bootstrap_median_ci(ratios, confidence=0.99)
    assert low99 <= low and high99 >= high


def test_one_outlier_does_not_flip_the_verdict():
    ratios = np.append(ratios_around(0.95, 0.02, n=11), 2.2)  # one round the noise blew
    assert pairs.compare(ratios, np.ones_like(ratios), LOWER)["verdict"] == "PASS"


def test_compare_reports_ratios_spread_and_interval():
    a, b = [10.0, 22.0, 9.0, 12.0], [10.0, 20.0, 10.0, 10.0]
    result = pairs.compare(a, b, LOWER)
    assert result["pairs"] == 4
    assert result["ratios"] == pytest.approx([1.0, 1.1, 0.9, 1.2])
    assert result["median"] == pytest.approx(1.05)
    assert result["spread"]["min"] == pytest.approx(0.9)
    assert result["spread"]["max"] == pytest.approx(1.2)
    assert result["ci_low"] <= result["median"] <= result["ci_high"]
    assert result["verdict"] == "INCONCLUSIVE"
    with pytest.raises(ValueError, match="a pair needs both"):
        pairs.compare([1.0, 2.0], [1.0], LOWER)


def test_proc_stat_parsing_and_steal_share():
    ticks = machine._clock_ticks()
    before = {"cpu": machine.parse_proc_stat(
        "cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n"), "load_average": (1.5, 1, 1)}
    after = {"cpu": machine.parse_proc_stat(
        "cpu  200 0 100 1600 20 0 10 35 0 0\n"), "load_average": None}
    assert before["cpu"]["steal_s"] == 0
    assert after["cpu"]["busy_s"] == pytest.approx(345 / ticks)
    # 35 of the 1,000 ticks that passed were stolen
    assert machine.steal_share(before, after) == pytest.approx(35 / 1000)
    text = machine.describe(before, after)
    assert "1.50 -> n/a" in text and "CPU steal 3.5 %" in text
    assert "CPU steal n/a" in machine.describe({"cpu": None}, after)


def test_own_cpu_figures_from_a_recorded_block():
    block = {"submit_s": 0.02, "callback_s": 0.01, "live_view_s": 0.3, "sampler_s": 0.05,
             "requests": 1000, "wall_s": 30.0}
    rows = {r["key"]: r for r in ocf.figures([block], [block], infer_ms=15.0)}
    assert rows["submit_us"]["value"] == pytest.approx(20.0)
    assert rows["callback_us"]["value"] == pytest.approx(10.0)
    assert rows["submit_callback_infer_pct"]["value"] == pytest.approx(30 / 15000 * 100)
    assert rows["live_view_core_pct"]["value"] == pytest.approx(1.0)
    assert rows["sampler_core_pct"]["value"] == pytest.approx(0.05 / 30 * 100)
    assert all("CPU time" in r["figure"] for r in rows.values())


def test_own_cpu_figures_say_not_recorded_without_the_block():
    rows = ocf.figures([None], [None], infer_ms=15.0)
    assert rows and all(r["value"] is None for r in rows)
    assert all("not recorded by this version" in r["note"] for r in rows)
    block = {"submit_s": 0.02, "callback_s": 0.01, "live_view_s": 0.3, "sampler_s": None,
             "requests": 1000, "wall_s": 30.0}
    rows = {r["key"]: r for r in ocf.figures([block], [], infer_ms=None,
                                             no_show_why="Xvfb is not installed")}
    assert rows["sampler_core_pct"]["value"] is None
    assert "not recorded" in rows["sampler_core_pct"]["note"]
    assert rows["live_view_core_pct"]["note"] == "Xvfb is not installed"
    assert rows["submit_callback_infer_pct"]["value"] is None
    assert rows["submit_us"]["value"] == pytest.approx(20.0)


def test_a_busy_machine_makes_single_wall_clock_verdicts_inconclusive():
    from benchmarks.report import Report

    r = Report()
    timed = r.add("s", "p99", "lateness p99", 3.0, "ms", ("<=", 1.0), wall_clock=True)
    memory = r.add("s", "rss", "peak RSS", 300.0, "MB", ("<", 500))
    other = r.add("t", "p99", "lateness p99", 0.5, "ms", ("<=", 1.0), wall_clock=True)
    r.settle_under_load("s", 0.10)  # a quiet machine: verdicts stand
    assert (timed["verdict"], memory["verdict"]) == ("MISS", "PASS")
    r.settle_under_load("s", None)  # unknown load: left as measured
    assert timed["verdict"] == "MISS"
    r.settle_under_load("s", 0.60)
    assert timed["verdict"] == "INCONCLUSIVE" and "60 %" in timed["note"]
    assert memory["verdict"] == "PASS" and other["verdict"] == "PASS"
    untargeted = r.add("s", "mean", "lateness mean", 2.0, "ms", wall_clock=True)
    r.settle_under_load("s", 0.60)
    assert untargeted["verdict"] is None


def test_floor_verdict_by_the_intervals_top_and_bottom():
    from benchmarks import floor

    assert floor.TARGET == ("<=", 1.15)
    assert pairs.verdict(1.02, 1.15, floor.TARGET, 10) == "PASS"  # top on the bound
    assert pairs.verdict(1.05, 1.149, floor.TARGET, 10) == "PASS"
    assert pairs.verdict(1.151, 1.40, floor.TARGET, 10) == "MISS"  # bottom above
    assert pairs.verdict(1.10, 1.20, floor.TARGET, 10) == "INCONCLUSIVE"  # straddles
    assert pairs.verdict(1.02, 1.05, floor.TARGET, 2) == "INCONCLUSIVE"  # too few pairs
    # tool / floor per pair, from CPU time per request of each round
    tool = [{"cpu_s": 0.024, "requests": 100}, {"cpu_s": 0.026, "requests": 100},
            {"cpu_s": 0.022, "requests": 100}]
    bare = [{"cpu_s": 0.020, "requests": 100}, {"cpu_s": 0.020, "requests": 100},
            {"cpu_s": 0.020, "requests": 100}]
    assert floor.per_request_us(tool) == pytest.approx([240.0, 260.0, 220.0])
    result = pairs.compare([r["cpu_s"] / r["requests"] for r in tool],
                           [r["cpu_s"] / r["requests"] for r in bare], floor.TARGET)
    assert result["ratios"] == pytest.approx([1.2, 1.3, 1.1])
    assert result["median"] == pytest.approx(1.2)
    assert result["ci_low"] == pytest.approx(1.1) and result["ci_high"] == pytest.approx(1.3)
    assert result["verdict"] == "INCONCLUSIVE"
    result = pairs.compare([0.0112, 0.0111, 0.0113, 0.0112], [0.01] * 4, floor.TARGET)
    assert result["verdict"] == "PASS" and result["ci_high"] <= 1.15
    result = pairs.compare([0.017, 0.018, 0.019, 0.018], [0.01] * 4, floor.TARGET)
    assert result["verdict"] == "MISS" and result["ci_low"] > 1.15


def test_a_comparison_without_target_has_an_interval_and_no_verdict():
    from benchmarks.report import Report

    measured = {"a": [1.0, 1.1, 0.9, 1.05], "b": [1.0] * 4,
                "before": {"load_average": (0.5, 0.5, 0.5), "cpu": None},
                "after": {"load_average": (0.6, 0.5, 0.5), "cpu": None}}
    row = Report().add_comparison("adds", "perf_count_ratio", "PERF_COUNT=YES / NO",
                                  measured, None)
    assert row["verdict"] is None and row["target"] is None
    assert row["pairs"] == 4 and row["ci_low"] <= row["value"] <= row["ci_high"]


def test_the_old_one_percent_figure_is_information():
    block = {"submit_s": 0.03, "callback_s": 0.01, "live_view_s": None, "sampler_s": None,
             "requests": 100, "wall_s": 3.0}
    rows = {r["key"]: r for r in ocf.figures([block], [], infer_ms=10.0)}
    row = rows["submit_callback_infer_pct"]
    assert row["value"] == pytest.approx(400 / 10000 * 100) and row["target"] is None


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"),
                    reason="the GPU and NPU readers on fake trees are Linux's")
def test_the_fake_trees_make_the_gpu_and_npu_readers_active(tmp_path):
    from benchmarks import adds
    from ovsched.utilization import linux_drm, linux_npu

    proc, sys_root = adds.make_fake_trees(str(tmp_path))
    drm = linux_drm.Reader(proc, sys_root)
    npu = linux_npu.Reader(sys_root)
    assert drm.active and npu.active
    before = drm.read()
    assert {pdev for pdev, _client in before["clients"]} == {adds.I915_PDEV, adds.XE_PDEV}
    rates = drm.rates(before, drm.read(), 0.1)
    assert {"gpu.render", "gpu.video", "gpu.awake", "gpu.awake@1"} <= set(rates)
    assert npu.read() is not None


def test_the_rate_trend_of_a_noisy_flat_flood_is_no_slowdown_and_a_real_one_is():
    from benchmarks.scale import rate_trend
    rng = np.random.default_rng(1)
    # flat, with the tenth-to-tenth spread a flood with profiles read shows (+-10 %)
    flat = rate_trend(5500 * (1 + rng.uniform(-0.1, 0.1, 10)))
    assert flat["ci_low"] < 0.95 < flat["ci_high"] and flat["verdict"] == "INCONCLUSIVE"
    assert flat["ci_low"] < 1 < flat["ci_high"]
    steady = rate_trend(6000 + rng.normal(0, 30, 10))
    assert steady["verdict"] == "PASS" and steady["ci_low"] <= steady["value"] <= steady["ci_high"]
    slowing = rate_trend(np.linspace(6000, 3000, 10) + rng.normal(0, 30, 10))
    assert slowing["verdict"] == "MISS" and slowing["value"] == pytest.approx(0.5, abs=0.03)
