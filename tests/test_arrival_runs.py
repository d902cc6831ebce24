"""Arrival patterns in real runs: the schedule submitted is the pattern's, paced, and named."""

import numpy as np
import pytest

from conftest import TIMELINE, read_summary, run_script
from ovsched.run import arrival
from ovsched.derive.analysis import pacing_ms, stats
from ovsched.run.experiment import run_experiment
from ovsched.data.records import Run
from ovsched.data.runfile import to_json
from ovsched.run.settings import UsageError


def settings_for(tiny_model, tmp_path, **changes):
    base = {"model": tiny_model, "device": "CPU", "niter": 12, "interval": 4.0, "nireq": 4,
            "show": False, "out": str(tmp_path / "run"), "arrival": "fixed", "seed": 0,
            "burst": 1, "util_ms": 0.0}
    return {**base, **changes}


@pytest.mark.parametrize("changes, words", [
    ({}, "fixed, every 4 ms"),
    ({"arrival": "poisson", "seed": 5}, "poisson, mean 4 ms, seed 5"),
    ({"arrival": "burst", "burst": 3}, "burst of 3 every 4 ms"),
])
def test_a_run_submits_on_its_patterns_schedule(tmp_path, tiny_model, changes, words):
    s = settings_for(tiny_model, tmp_path, **changes)
    result = run_experiment(s, {}, kind="timeline")
    expected, _ = arrival.resolve(s)
    run, summary = result.run, result.run.summary
    assert np.array_equal(run["scheduled_s"], expected)  # exactly, not approximately
    assert summary.arrival == words
    assert words in result.figure.axes[0].get_title()
    pacing = summary.stats.pacing_ms
    assert set(to_json(pacing)) == {"p50", "p99", "max"}
    free_s = np.fmax(run["scheduled_s"], np.r_[-np.inf, run["submitted_s"][:-1]])
    own = run["lateness_ms"] - run["queue_wait_ms"] - (free_s - run["scheduled_s"]) * 1e3
    assert pacing.max == pytest.approx(float(own.max()))
    assert pacing.p50 <= pacing.p99 <= pacing.max


def test_pacing_leaves_out_the_wait_a_request_inherits_from_the_one_before():
    # request 1 waited 50 ms for a slot; request 2, due meanwhile, went 0.2 ms after it
    run = Run.from_arrays([0.0, 0.01, 0.02], [0.0003, 0.0604, 0.0606], [0.1, 0.2, 0.3],
                          [0, 1, 0], ["CPU"] * 3, [1.0] * 3, queue_wait_ms=[0.0, 50.0, 0.0])
    assert pacing_ms(run) == pytest.approx([0.3, 0.4, 0.2])
    assert stats(run)["pacing_ms"]["max"] == pytest.approx(0.4)
    assert run["lateness_ms"][2] == pytest.approx(40.6)  # what lateness alone would blame
    del run.columns["queue_wait_ms"]
    assert stats(run)["pacing_ms"] == {"p50": None, "p99": None, "max": None}


def test_a_replay_file_sets_niter_and_says_interval_does_not_apply(tmp_path, tiny_model):
    path = tmp_path / "gate.txt"
    path.write_text("# recorded\n0\n3\n3\n10\n25.5\n", encoding="utf-8")
    out = tmp_path / "replay"
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=CPU", f"--arrival={path}",
                   "--interval=30", "--show=False", f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = read_summary(out)
    assert summary["settings"]["niter"] == 5 and summary["stats"]["count"] == 5
    assert summary["arrival"] == "replay of gate.txt"
    note = f"--interval does not apply to a replay: the due times come from {path}"
    assert summary["notes"] == [note] and f"note: {note}" in p.stdout
    assert "submitting 5 requests, replay of gate.txt" in p.stdout
    assert "pacing ms" in p.stdout


def test_a_programs_niter_takes_the_first_due_times_of_a_replay(tmp_path, tiny_model):
    path = tmp_path / "due.txt"
    path.write_text("0\n2\n4\n6\n", encoding="utf-8")
    s = settings_for(tiny_model, tmp_path, arrival=str(path), niter=3)
    result = run_experiment(s, {}, kind="latency")
    assert np.array_equal(result.run["scheduled_s"], [0.0, 0.002, 0.004])
    assert result.run.summary.notes == []
    with pytest.raises(UsageError, match="--niter=9 is more than the 4 due times"):
        run_experiment({**s, "niter": 9}, {}, kind="latency")


def test_a_bad_replay_file_is_exit_2_naming_the_line(tmp_path, tiny_model):
    path = tmp_path / "bad.txt"
    path.write_text("0\n5\nfive\n", encoding="utf-8")
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=CPU", f"--arrival={path}",
                   "--show=False", f"--out={tmp_path / 'x'}", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "line 3: 'five' is not a number" in p.stderr
    assert not (tmp_path / "x").exists()
