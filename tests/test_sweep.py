"""python -m ovsched sweep: the grid, the CSV, the advice, Ctrl+C and --resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, headless_env, read_summary
from ovsched import sweep
from ovsched.data.runfile import read_run
from ovsched.run.settings import UsageError

SMALL = ["--device=CPU", "--batch=1,4", "--AUTO_BATCH_TIMEOUT=10,100", "--interval=5,20",
         "--niter=24", "--repeat=2", "--CACHE_DIR="]


def run_sweep(*args, cwd, timeout=600):
    env = headless_env(PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "ovsched", "sweep", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def defaults():
    return sweep.script_defaults()[:2]


def cells_of(*argv):
    settings, properties = defaults()
    grid = sweep.parse_grid(list(argv), settings, properties)
    return sweep.make_cells(grid, settings, properties)


# ---------------------------------------------------------------- the grid

def test_defaults_are_auto_test_settings_block():
    settings, properties = defaults()
    assert settings["device"] == "BATCH:CPU(8)" and settings["niter"] == 40
    assert settings["interval"] == 30.0 and settings["nireq"] == 16
    assert properties["PERFORMANCE_HINT"] == "THROUGHPUT"


def test_lists_span_a_grid_and_batch_one_is_not_repeated_over_timeouts():
    cells = cells_of(*SMALL)
    assert [(c.settings["device"], c.properties.get("AUTO_BATCH_TIMEOUT"),
             c.settings["interval"]) for c in cells] == [
        ("CPU", None, 5.0), ("CPU", None, 20.0),
        ("BATCH:CPU(4)", "10", 5.0), ("BATCH:CPU(4)", "10", 20.0),
        ("BATCH:CPU(4)", "100", 5.0), ("BATCH:CPU(4)", "100", 20.0)]
    assert all(c.settings["show"] is False and c.settings["niter"] == 24 for c in cells)
    assert len({c.name for c in cells}) == 6


def test_semicolons_list_any_value_and_commas_stay_in_device_strings():
    cells = cells_of("--device=AUTO:GPU,CPU;CPU", "--arrival=fixed;poisson")
    assert [c.settings["device"] for c in cells] == ["AUTO:GPU,CPU"] * 2 + ["CPU"] * 2
    assert [c.settings["arrival"] for c in cells] == ["fixed", "poisson"] * 2
    cells = cells_of("--device=CPU", "--batch=1;8", "--interval=7.5;30")
    assert [c.settings["device"] for c in cells] == ["CPU", "CPU", "BATCH:CPU(8)",
                                                    "BATCH:CPU(8)"]


@pytest.mark.parametrize("argv, fragment", [
    (["--interval="], "--interval= is an empty list"),
    (["--interval=5,,20"], "--interval=5,,20: an empty item in the list"),
    (["--device=CPU;"], "--device=CPU;: an empty item in the list"),
    (["--interval=5,fast"], "--interval=5,fast: 'fast' is not a number"),
    (["--AUTO_BATCH_TIMEOUT=10,x"], "'x' is not a number"),
    (["--device=CPU", "--batch=0,4"], "--batch=0: give whole numbers >= 1 (1 = no batching)"),
    (["--device=CPU", "--batch=2.5"], "--batch=2.5: give whole numbers >= 1"),
    (["--device=AUTO", "--batch=1,4"], "automatic batching needs a real device, not AUTO"),
    (["--device=BATCH:CPU(4)", "--batch=8"], "the device batches already"),
    (["--interval=" + ",".join(str(k) for k in range(1, 30)),
      "--niter=" + ",".join(str(k) for k in range(1, 20))], "the grid has 551 cells (over 500)"),
    (["--repeat=0"], "--repeat=0: give whole numbers >= 1"),
    (["--p99_ms=-3"], "--p99_ms=-3: the latency budget"),
    (["--show=False"], "--show does not apply to a sweep"),
    (["--intervall=5"], "unknown setting --intervall (did you mean interval?)"),
])
def test_bad_grids_are_one_line_usage_errors(argv, fragment):
    settings, properties = defaults()
    with pytest.raises(UsageError) as e:
        grid = sweep.parse_grid(argv, settings, properties)
        sweep.make_cells(grid, settings, properties)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_yes_runs_a_big_grid():
    cells = cells_of("--interval=" + ",".join(str(k) for k in range(1, 30)),
                     "--niter=" + ",".join(str(k) for k in range(1, 20)), "--yes")
    assert len(cells) == 551


@pytest.mark.parametrize("argv, fragment", [
    (["--interval=5,,20"], "an empty item"),
    (["--interval=5,fast"], "'fast' is not a number"),
    (["--device=CPU", "--batch=0"], "--batch=0"),
    (["--device=MULTI:CPU", "--batch=4"], "automatic batching needs a real device, not MULTI"),
    (["--interval=" + ",".join(str(k) for k in range(1, 502))], "over 500"),
    (["--device=GPU", "--batch=4"], "device GPU is not available on this machine"),
    (["--model=missing.xml"], "model not found: missing.xml"),
    (["--model=missing.xml", "--find_rate", "--p99_ms=100"], "model not found: missing.xml"),
])
def test_bad_grids_exit_2_with_one_line(tmp_path, argv, fragment):
    p = run_sweep(*argv, f"--out={tmp_path / 'sw'}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: ") and fragment in p.stderr
    assert not (tmp_path / "sw").exists()


# ---------------------------------------------------------------- measuring

def test_achieved_rate_is_the_offered_one_when_the_delay_does_not_grow():
    due = np.arange(200) * 0.02
    rng = np.random.default_rng(0)
    done = due + 0.03 + rng.uniform(0, 0.01, due.size)
    done[-5:] += 1.0  # the last partial batch waits for a 1000 ms timeout
    offered, achieved = sweep.rates_per_s(due, done)
    assert offered == pytest.approx(50.0)
    assert achieved == pytest.approx(50.0, rel=0.01)


def test_achieved_rate_is_the_service_rate_when_the_queue_grows():
    due = np.arange(100) * 0.02  # due at 50/s, served at 40/s
    done = 0.025 + np.arange(100) * 0.025
    offered, achieved = sweep.rates_per_s(due, done)
    assert (offered, achieved) == (pytest.approx(50.0), pytest.approx(40.0))
    done[7] = np.nan
    assert sweep.rates_per_s(due, done)[1] is None  # interrupted: unknown


def row(cell, timeout, offered, achieved, p99, low, high, keeps=True, requests=1200):
    """A row whose p99's 95 % interval is low-high (None: too few requests for one)."""
    return sweep.Row(cell=cell, device="CPU" if timeout is None else "BATCH:CPU(4)",
                     batch=1 if timeout is None else 4, batching=timeout is not None,
                     timeout_ms=timeout, offered_per_s=offered, achieved_per_s=achieved,
                     achieved_min_per_s=achieved - 0.2, achieved_max_per_s=achieved + 0.2,
                     keeps_up=keeps, p50_ms=p99 / 2, p99_ms=p99, p99_ci_low_ms=low,
                     p99_ci_high_ms=high, requests=requests, repeats=3,
                     p99_needed_requests=1500 if low is None else 900)


def test_advice_ranks_only_settings_whose_intervals_separate():
    rows = [row("a", None, 50, 49.9, 40, 35, 45), row("b", 10, 50, 49.9, 30, 25, 36),
            row("c", 100, 50, 40.0, 5, 4, 6, keeps=False),
            row("d", None, 200, 150, 500, 400, 600, keeps=False),
            row("e", 10, 200, 199, 20, 18, 22),
            row("f", None, 10, 10, 3, 2, 4), row("g", 10, 10, 10, 15, 12, 18)]
    advice = {rate: (best, lines) for rate, best, lines in sweep.advise(rows)}
    assert advice[50][0].cell == "b"
    assert "not separated from it" in advice[50][1][1] and "[a]" in advice[50][1][1]
    assert "no significant difference" in advice[50][1][2]
    assert advice[200][0].cell == "e" and "no batching does not keep up" in advice[200][1][1]
    assert advice[10][0].cell == "f" and "batching does not help here" in advice[10][1][1]
    rows[0] = row("a", None, 50, 49.9, 40, 37, 45)
    rows[1] = row("b", 10, 50, 49.9, 30, 25, 36)
    line = dict((r, lines) for r, _, lines in sweep.advise(rows))[50][-1]
    assert "batching lowers p99 by 10.0 ms" in line


def test_advice_says_too_few_requests_and_how_many_would_do():
    rows = [row("a", None, 50, 49.9, 40, None, None, requests=240),
            row("b", 10, 50, 49.9, 30, None, None, requests=240)]
    (_, best, lines), = sweep.advise(rows)
    assert best.cell == "b"
    assert "too few requests for a bound: 240, about 1500 would do" in lines[0]
    assert "cannot rank the settings at this rate" in lines[1]
    assert "too few requests to rank them" in lines[2]


def test_advice_within_a_budget_is_the_highest_throughput_that_surely_fits():
    rows = [row("a", None, 50, 49.9, 40, 35, 45), row("b", 10, 50, 49.5, 30, 25, 34),
            row("c", None, 200, 150, 60, 50, 70, keeps=False), row("e", 10, 200, 199, 20, 18, 22),
            row("h", 100, 200, 199.5, 30, 28, 40)]
    advice = {rate: (best, lines) for rate, best, lines in sweep.advise(rows, 35.0)}
    assert advice[50][0].cell == "b" and advice[200][0].cell == "e"
    assert "1 more keep up with a p99 that may fit" in advice[200][1][-1]
    assert "[e]" in sweep.overall_budget_line(rows, 35.0)
    assert "no cell of the sweep" in sweep.overall_budget_line(rows, 1.0)


def test_rows_survive_the_csv_typed(tmp_path):
    rows = [row("a", None, 50, 49.9, 40, None, None), row("b", 10, 50, 49.5, 30, 25, 34)]
    rows[0].util = {"cpu": 81.5, "gpu.compute": 12.0}
    rows[1].labels = {"nireq": "4"}
    rows[1].batched_share = "0.50-0.75"
    sweep.write_rows(rows, tmp_path / "sweep.csv")
    text = (tmp_path / "sweep.csv").read_text().splitlines()
    header = text[0].split(",")
    assert {"util_cpu_mean", "util_gpu.compute_mean", "nireq", "p99_ci_low_ms"} <= set(header)
    first = dict(zip(header, text[1].split(",")))
    assert first["timeout_ms"] == "n/a" and first["p99_ci_low_ms"] == ""
    back = sweep.read_rows(tmp_path / "sweep.csv")
    assert back[0].batching is False and back[0].timeout_ms is None
    assert back[0].p99_ci_low_ms is None and back[0].util == {"cpu": 81.5, "gpu.compute": 12.0}
    assert back[1].batching is True and back[1].timeout_ms == 10.0
    assert back[1].keeps_up is True and back[1].p99_ci_high_ms == 34.0
    assert back[1].labels == {"nireq": "4"} and back[1].batched_share == "0.50-0.75"
    assert back[1].requests == 1200 and isinstance(back[1].requests, int)


def test_utilization_means_are_the_aggregate_sources_of_the_summary_block():
    from ovsched.data.parts import as_summary
    summary = as_summary({"utilization": {"period_ms": 100, "sources": {
        "cpu": {"mean": 50.0}, "cpu0": {"mean": 40.0}, "cpu1": {"mean": 60.0},
        "process": {"mean": 90.0}, "gpu.compute": {"mean": 10.0}}}})
    assert sweep.utilization_means(summary) == {"cpu": 50.0, "process": 90.0,
                                                "gpu.compute": 10.0}
    assert sweep.utilization_means(as_summary({"utilization": {"sources": {}}})) == {}
    assert sweep.utilization_means(as_summary({})) == {}


# ---------------------------------------------------------------- a real sweep

def pooled_latencies(folders):
    runs = []
    for f in folders:
        run = read_run(f)
        latency = run["latency_ms"]
        runs.append(latency[np.isfinite(latency)])
    return runs


def test_a_small_sweep_measures_every_cell_and_advises_from_them(tmp_path, tiny_model):
    out = tmp_path / "sw"
    p = run_sweep(f"--model={tiny_model}", *SMALL, f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "run 12/12: cell 6/6 repeat 2" in p.stderr and "ETA" in p.stderr
    rows = sweep.read_rows(out / "sweep.csv")
    assert [r.cell for r in rows] == [c.name for c in cells_of(*SMALL)]
    assert all(r.repeats == 2 and r.status == "done" for r in rows)
    assert (out / "sweep.png").stat().st_size > 10_000
    header = (out / "sweep.csv").read_text().splitlines()[0].split(",")
    # the sampler's aggregate sources, not one column per core
    assert "util_cpu_mean" in header and "util_process_mean" in header
    assert not [h for h in header if h.startswith("util_cpu0")]
    for r in rows:
        folders = [out / r.cell / f"r{k}" for k in (1, 2)]
        summaries = [read_summary(f) for f in folders]
        assert all({"records.csv", "summary.json", "timeline.png", "trace.json",
                    "utilization.csv"} <= set(os.listdir(f)) for f in folders)
        assert {s["settings"]["device"] for s in summaries} == {r.device}
        p99 = sorted(s["stats"]["latency_ms"]["p99"] for s in summaries)
        assert r.p99_min_ms == pytest.approx(p99[0], rel=1e-3, abs=2e-3)
        assert r.p99_max_ms == pytest.approx(p99[1], rel=1e-3, abs=2e-3)
        pooled = np.concatenate(pooled_latencies(folders))
        assert r.requests == pooled.size == 48
        assert r.p99_ms == pytest.approx(np.percentile(pooled, 99), rel=1e-3, abs=2e-3)
        assert r.p50_ms == pytest.approx(np.percentile(pooled, 50), rel=1e-3, abs=2e-3)
        # 48 requests bound the median but not the p99 (368 independent ones would)
        assert r.p99_ci_low_ms is None and r.p99_ci_high_ms is None
        assert r.p99_needed_requests >= 368
        if r.p50_ci_low_ms is not None:  # two runs far apart may count as too few
            assert r.p50_ci_low_ms <= r.p50_ms <= r.p50_ci_high_ms
        cpu = [s["utilization"]["sources"]["cpu"]["mean"] for s in summaries]
        assert r.util["cpu"] == pytest.approx(float(np.median(cpu)), rel=1e-3)
        if not r.batching:
            assert r.batch == 1 and r.batched_share == 0
            assert "AUTO_BATCH_TIMEOUT" not in summaries[0]["properties"]
        else:
            assert summaries[0]["batching"]["timeout_ms"] == r.timeout_ms
    # the advice, recomputed from the CSV on its own: nothing here is bounded
    for rate in {r.offered_per_s for r in rows}:
        group = [r for r in rows if r.offered_per_s == rate]
        kept = [r for r in group if r.keeps_up]
        line = next(x for x in p.stdout.splitlines() if x.startswith(f"offered {rate:g}/s:"))
        if not kept:
            assert "no setting keeps up" in line
            continue
        best = min(kept, key=lambda r: r.p99_ms)
        assert f"[{best.cell}]" in line and "lowest p99 that keeps up" in line
        assert "too few requests for a bound: 48, about" in line
        following = p.stdout.split(line, 1)[1].splitlines()[1]
        assert "cannot rank the settings at this rate" in following


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX-only here")
def test_ctrl_c_keeps_finished_cells_and_resume_finishes_without_rerunning(tmp_path,
                                                                            tiny_model):
    out = tmp_path / "sw"
    args = [f"--model={tiny_model}", "--device=CPU", "--batch=1,4", "--interval=20",
            "--niter=60", "--repeat=2", "--CACHE_DIR=", f"--out={out}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ovsched", "sweep", *args], cwd=tmp_path,
        env=headless_env(PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "sweep.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)  # into the second run
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    rows = sweep.read_rows(out / "sweep.csv")
    done = sum(r.repeats for r in rows)
    assert 1 <= done < 4
    finished = {f: (f / "summary.json").read_bytes()
                for f in out.glob("*/r*") if sweep.finished(f)}
    assert len(finished) == done
    partial = [f for f in out.glob("*/r*") if not sweep.finished(f)]

    again = run_sweep(*args, "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {done} runs done, {4 - done} to go" in again.stdout
    for f, before in finished.items():
        assert (f / "summary.json").read_bytes() == before  # not run again
    for f in partial:
        assert Path(f"{f}.partial").is_dir() and sweep.finished(f)
    rows = sweep.read_rows(out / "sweep.csv")
    assert len(rows) == 2 and all(r.repeats == 2 and r.status == "done" for r in rows)

    changed = [a for a in args if not a.startswith("--interval")] + ["--interval=30"]
    other = run_sweep(*changed, "--resume", cwd=tmp_path)
    assert other.returncode == 2 and "has another grid" in other.stderr
    fresh = run_sweep(*args, cwd=tmp_path)
    assert fresh.returncode == 2 and "give --resume to finish the sweep there" in fresh.stderr
    state = json.loads((out / "sweep.json").read_text())
    assert len(state["cells"]) == 2


# ---------------------------------------------------------------- one batching rule

@pytest.mark.parametrize("device, hint, allow, available, expected", [
    ("BATCH:CPU(4)", "LATENCY", "YES", ["CPU"], True),
    ("CPU", "THROUGHPUT", "YES", ["CPU", "GPU"], False),
    ("GPU", "THROUGHPUT", "YES", ["CPU", "GPU"], True),
    ("GPU", "CUMULATIVE_THROUGHPUT", "YES", ["CPU", "GPU"], True),
    ("GPU", "LATENCY", "YES", ["CPU", "GPU"], False),
    ("GPU", "THROUGHPUT", "NO", ["CPU", "GPU"], False),
    ("AUTO", "THROUGHPUT", "YES", ["CPU", "GPU.0"], True),  # a bare AUTO may pick the GPU
    ("AUTO", "THROUGHPUT", "YES", ["CPU"], False),
    ("AUTO:CPU", "THROUGHPUT", "YES", ["CPU", "GPU"], False),
    ("MULTI:GPU,CPU", "CUMULATIVE_THROUGHPUT", "YES", ["CPU", "GPU"], True),
])
def test_one_rule_decides_whether_a_device_may_batch(device, hint, allow, available, expected):
    from ovsched.derive import batching
    properties = {"PERFORMANCE_HINT": hint, "ALLOW_AUTO_BATCHING": allow}
    assert batching.may_batch(device, properties, available) is expected


def test_the_sweep_keeps_the_timeout_where_the_rule_says_a_device_may_batch():
    settings, properties = defaults()
    argv = ["--device=AUTO;CPU", "--AUTO_BATCH_TIMEOUT=10,100",
            "--PERFORMANCE_HINT=CUMULATIVE_THROUGHPUT"]
    grid = sweep.parse_grid(argv, settings, properties)
    cells = sweep.make_cells(grid, settings, properties, available=["CPU", "GPU"])
    assert [(c.settings["device"], c.batching, c.properties.get("AUTO_BATCH_TIMEOUT"))
            for c in cells] == [("AUTO", True, "10"), ("AUTO", True, "100"), ("CPU", False, None)]
    cells = sweep.make_cells(grid, settings, properties, available=["CPU"])
    assert [(c.settings["device"], c.batching) for c in cells] == [("AUTO", False),
                                                                  ("CPU", False)]


# ---------------------------------------------------------------- --find_rate

def test_find_rate_needs_a_budget_and_poisson_arrivals():
    settings, properties = defaults()
    for argv, fragment in [(["--find_rate"], "--find_rate needs a latency budget"),
                           (["--find_rate", "--p99_ms=50", "--arrival=fixed"],
                            "--find_rate searches Poisson request rates")]:
        with pytest.raises(UsageError) as e:
            sweep.parse_grid(argv, settings, properties)
        assert fragment in str(e.value)
    grid = sweep.parse_grid(["--find_rate", "--p99_ms=50", "--interval=100,25"], settings,
                            properties)
    assert grid.ladder == [10.0, 40.0] and ("niter", ["400"]) in grid.axes
    grid = sweep.parse_grid(["--find_rate", "--p99_ms=50"], settings, properties)
    assert grid.ladder == pytest.approx([1e3 / 30 * f for f in (0.5, 1, 2, 4)])


def test_a_real_rate_search_writes_capacity_from_its_probes_and_resumes(tmp_path, tiny_model):
    from ovsched.sweep import capacity
    out = tmp_path / "fr"
    budget = 1000.0
    args = [f"--model={tiny_model}", "--find_rate", f"--p99_ms={budget:g}", "--device=CPU",
            "--batch=4", "--AUTO_BATCH_TIMEOUT=10", "--interval=5,0.1", "--niter=400",
            "--repeat=1", "--CACHE_DIR=", f"--out={out}"]
    stopped = None
    if sys.platform != "win32":  # Ctrl+C in the middle, then --resume finishes the search
        proc = subprocess.Popen(
            [sys.executable, "-m", "ovsched", "sweep", *args], cwd=tmp_path,
            env=headless_env(PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while not (out / "sweep.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr
        assert "setting 1/1 probe 1 (200/s) run 1" in stderr and "--resume" in stderr
        assert "Traceback" not in stderr
        stopped = {f: (f / "summary.json").read_bytes()
                   for f in out.glob("*/rate*/r*") if sweep.finished(f)}
        assert stopped  # the first probe's run was kept
    p = run_sweep(*args, *(["--resume"] if stopped else []), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for f, before in (stopped or {}).items():
        assert (f / "summary.json").read_bytes() == before  # not run again
    probes = {float(r.cell.split("/rate")[1]): r for r in sweep.read_rows(out / "sweep.csv")}
    # every rung of the ladder was probed (200/s and 10000/s), at most 9 probes, 8 runs each
    assert {200.0, 10000.0} <= set(probes) and len(probes) <= 9
    assert all(1 <= r.repeats <= capacity.MAX_RUNS and r.arrival == "poisson"
               for r in probes.values())
    assert probes[10000.0].keeps_up is False  # a tiny model cannot take 10000 requests/s

    def fits(r):
        return capacity.verdict(r, budget)[0] is True
    with open(out / "capacity.csv", newline="") as f:
        (found,) = list(csv.DictReader(f))
    assert list(found)[:3] == ["device", "batch", "timeout_ms"]
    assert found["device"] == "BATCH:CPU(4)" and found["timeout_ms"] == "10"
    passed = sorted(rate for rate, r in probes.items() if fits(r))
    if not passed:
        assert found["rate_per_s"] == "" and "was not shown to fit" in found["note"]
        assert "none found" in p.stdout
    else:
        rate = float(found["rate_per_s"])
        assert rate in passed and not fits(probes[float(found["above_per_s"])])
        row = probes[rate]
        assert float(found["p99_ci_high_ms"]) == pytest.approx(row.p99_ci_high_ms)
        assert float(found["p99_ci_high_ms"]) <= budget
        assert int(found["requests"]) == row.requests and int(found["runs"]) == row.repeats
        assert f"serves the most within p99 <= {budget:g} ms" in p.stdout
    assert (out / "capacity.png").stat().st_size > 5_000
    before = (out / "capacity.csv").read_bytes()

    again = run_sweep(*args, "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "probe" not in again.stderr  # every probe run was read back, none run again
    assert (out / "capacity.csv").read_bytes() == before  # the same numbers from the files


def test_batched_share_pools_the_requests_and_keeps_unknown_labels_a_range():
    from ovsched.sweep.measure import batched_share
    assert batched_share([(1, 3, 10), (2, 2, 10)]) == "0.15-0.25"
    assert batched_share([(4, 4, 10), (2, 2, 10)]) == pytest.approx(0.3)
    assert batched_share([(0, 0, 5)]) == 0.0
    assert batched_share([(1, 1, 10), None]) is None and batched_share([]) is None
