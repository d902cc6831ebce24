"""python -m ovsched sweep: the grid, the CSV, the advice, Ctrl+C and --resume."""

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


def test_pareto_front():
    points = [(50, 10), (49, 5), (50, 20), (48, 5), (51, 30)]
    assert sweep.pareto(points) == [0, 1, 4]


def row(cell, timeout, offered, achieved, p99, low, high, keeps=True):
    return {"cell": cell, "device": "CPU" if timeout == "n/a" else "BATCH:CPU(4)",
            "batch": 1 if timeout == "n/a" else 4, "timeout_ms": timeout,
            "offered_per_s": str(offered), "achieved_per_s": str(achieved),
            "achieved_min_per_s": str(achieved - 0.2), "achieved_max_per_s": str(achieved + 0.2),
            "keeps_up": str(keeps), "p50_ms": str(p99 / 2), "p99_ms": str(p99),
            "p99_min_ms": str(low), "p99_max_ms": str(high)}


def test_advice_names_the_lowest_p99_that_keeps_up_and_says_when_it_is_noise():
    rows = [row("a", "n/a", 50, 49.9, 40, 35, 45), row("b", "10", 50, 49.9, 30, 25, 36),
            row("c", "100", 50, 40.0, 5, 4, 6, keeps=False),
            row("d", "n/a", 200, 150, 500, 400, 600, keeps=False),
            row("e", "10", 200, 199, 20, 18, 22),
            row("f", "n/a", 10, 10, 3, 2, 4), row("g", "10", 10, 10, 15, 12, 18)]
    advice = {rate: (best, lines) for rate, best, lines in sweep.advise(rows)}
    assert advice[50][0] == "b" and "no significant difference" in advice[50][1][1]
    assert advice[200][0] == "e" and "no batching does not keep up" in advice[200][1][1]
    assert advice[10][0] == "f" and "batching does not help here" in advice[10][1][1]
    rows[0] = row("a", "n/a", 50, 49.9, 40, 37, 45)
    rows[1] = row("b", "10", 50, 49.9, 30, 25, 36)
    line = dict((r, lines) for r, _, lines in sweep.advise(rows))[50][1]
    assert "batching lowers p99 by 10.0 ms" in line


def test_advice_within_a_budget_is_the_highest_throughput_that_fits():
    rows = [row("a", "n/a", 50, 49.9, 40, 35, 45), row("b", "10", 50, 49.5, 30, 25, 36),
            row("c", "n/a", 200, 150, 60, 50, 70, keeps=False), row("e", "10", 200, 199, 20, 18, 22)]
    advice = {rate: (best, lines) for rate, best, lines in sweep.advise(rows, 35.0)}
    assert advice[50][0] == "b" and advice[200][0] == "e"
    assert "[e]" in sweep.overall_budget_line(rows, 35.0)
    assert "no cell of the sweep" in sweep.overall_budget_line(rows, 1.0)


# ---------------------------------------------------------------- a real sweep

def numbers(rows, key):
    return [float(r[key]) for r in rows]


def test_a_small_sweep_measures_every_cell_and_advises_from_them(tmp_path, tiny_model):
    out = tmp_path / "sw"
    p = run_sweep(f"--model={tiny_model}", *SMALL, f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "run 12/12: cell 6/6 repeat 2" in p.stderr and "ETA" in p.stderr
    rows = sweep.read_rows(out / "sweep.csv")
    assert [r["cell"] for r in rows] == [c.name for c in cells_of(*SMALL)]
    assert all(r["repeats"] == "2" and r["status"] == "done" for r in rows)
    assert (out / "sweep.png").stat().st_size > 10_000
    for r in rows:
        folders = [out / r["cell"] / f"r{k}" for k in (1, 2)]
        summaries = [read_summary(f) for f in folders]
        assert all(sorted(os.listdir(f)) == ["records.csv", "summary.json", "timeline.png",
                                             "trace.json", "utilization.csv"] for f in folders)
        assert {s["settings"]["device"] for s in summaries} == {r["device"]}
        p99 = sorted(s["stats"]["latency_ms"]["p99"] for s in summaries)
        assert float(r["p99_min_ms"]) == pytest.approx(p99[0], rel=1e-3)
        assert float(r["p99_max_ms"]) == pytest.approx(p99[1], rel=1e-3)
        assert float(r["p99_ms"]) == pytest.approx(sum(p99) / 2, rel=1e-3)
        if r["timeout_ms"] == "n/a":
            assert r["batch"] == "1" and r["batched_share"] == "0"
            assert "AUTO_BATCH_TIMEOUT" not in summaries[0]["properties"]
        else:
            assert summaries[0]["batching"]["timeout_ms"] == int(r["timeout_ms"])
    # the advice, recomputed from the CSV on its own
    for rate in {float(r["offered_per_s"]) for r in rows}:
        group = [r for r in rows if float(r["offered_per_s"]) == rate]
        kept = [r for r in group if r["keeps_up"] == "True"]
        line = next(x for x in p.stdout.splitlines() if x.startswith(f"offered {rate:g}/s:"))
        if not kept:
            assert "no setting keeps up" in line
            continue
        best = min(kept, key=lambda r: float(r["p99_ms"]))
        assert f"[{best['cell']}]" in line and "lowest p99 that keeps up" in line
        following = p.stdout.split(line, 1)[1].splitlines()[1]
        if best["timeout_ms"] == "n/a":
            assert "batching does not help here" in following
        else:
            plain = [r for r in group if r["timeout_ms"] == "n/a"]
            base = min([r for r in plain if r["keeps_up"] == "True"] or plain,
                       key=lambda r: float(r["p99_ms"]))
            apart = (float(best["p99_max_ms"]) < float(base["p99_min_ms"])
                     or float(base["p99_max_ms"]) < float(best["p99_min_ms"]))
            if base["keeps_up"] != "True":
                assert "no batching does not keep up" in following
            elif apart:
                assert "batching lowers p99" in following
            else:
                assert "no significant difference" in following
            assert f"[{base['cell']}]" in following


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
    done = sum(int(r["repeats"]) for r in rows)
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
    assert len(rows) == 2 and all(r["repeats"] == "2" and r["status"] == "done" for r in rows)

    changed = [a for a in args if not a.startswith("--interval")] + ["--interval=30"]
    other = run_sweep(*changed, "--resume", cwd=tmp_path)
    assert other.returncode == 2 and "has another grid" in other.stderr
    fresh = run_sweep(*args, cwd=tmp_path)
    assert fresh.returncode == 2 and "give --resume to finish the sweep there" in fresh.stderr
    state = json.loads((out / "sweep.json").read_text())
    assert len(state["cells"]) == 2
