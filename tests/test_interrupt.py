"""Ctrl+C at any moment: exit 130, and either nothing written or complete, consistent files."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import LATENCY, headless_env, read_records, read_summary

# Windows cannot send SIGINT to one child (only CTRL_C_EVENT to a whole console group), and
# has no preexec_fn to undo an inherited "ignore SIGINT".
pytestmark = pytest.mark.skipif(sys.platform == "win32",
                                reason="sends SIGINT to a child process: POSIX only")

ROUNDS = 24


def run_and_interrupt(tmp_path, tiny_model, delay, k):
    out = tmp_path / f"run{k}"
    proc = subprocess.Popen(
        [sys.executable, str(LATENCY), f"--model={tiny_model}", "--niter=300", "--interval=3",
         f"--out={out}"], cwd=tmp_path, env=headless_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        # a test runner started in the background may hand down SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stdout, stderr, out


def check_consistent(out):
    """Every submitted request once; completed ones complete; summary agrees with the CSV."""
    assert sorted(os.listdir(out)) == ["breakdown.png", "latency.png", "records.csv",
                                       "summary.json", "trace.json", "utilization.csv"]
    rows = read_records(out)
    summary = read_summary(out)
    assert [int(r["request"]) for r in rows] == list(range(len(rows)))
    assert summary["stats"]["submitted"] == len(rows)
    assert summary["stats"]["count"] == sum(1 for r in rows if r["completed_s"])
    if summary["cut_short"]:
        assert summary["interrupted"] and summary["stopped_at_request"] == len(rows) < 300
    else:
        assert len(rows) == 300


def time_one_run(tmp_path, tiny_model):
    """Seconds one uninterrupted run takes here: the span the interrupts are spread over,
    so that they land in every phase on a fast machine and on a busy one alike."""
    start = time.perf_counter()
    p = subprocess.run([sys.executable, str(LATENCY), f"--model={tiny_model}", "--niter=300",
                        "--interval=3", f"--out={tmp_path / 'timed'}"], cwd=tmp_path,
                       env=headless_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return time.perf_counter() - start


def test_random_sigints(tmp_path, tiny_model):
    rng = random.Random(2024)
    span = time_one_run(tmp_path, tiny_model)
    # 0.15 s: the interpreter itself is starting before that and owns SIGINT
    delays = [0.15 + rng.random() * span for _ in range(ROUNDS)]
    phases = {"nothing written": 0, "partial results": 0, "complete run": 0,
              "after the end": 0}
    for k, delay in enumerate(delays):
        code, stdout, stderr, out = run_and_interrupt(tmp_path, tiny_model, delay, k)
        if code == 0:  # the signal came after the run had finished and written everything
            check_consistent(out)
            assert not read_summary(out)["interrupted"] and "results:" in stdout
            phases["after the end"] += 1
            continue
        assert code == 130, (delay, code, stderr)
        assert "Traceback" not in stderr, stderr
        if not out.exists():
            phases["nothing written"] += 1
            assert "nothing written" in stderr
            continue
        check_consistent(out)
        phases["partial results" if read_summary(out)["cut_short"] else "complete run"] += 1
    print(f"{ROUNDS} interrupts, all exit 130 and consistent: {phases}")
    assert phases["nothing written"] and phases["partial results"]
