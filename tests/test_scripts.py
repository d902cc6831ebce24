"""Both scripts run end to end as subprocesses, on CPU, with a tiny model."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import (LATENCY, TIMELINE, headless_env, read_records, read_summary,
                      run_script)

CONTRACT_COLUMNS = {"request", "scheduled_s", "submitted_s", "completed_s", "latency_ms"}


def check_records(rows, niter):
    assert len(rows) == niter
    assert CONTRACT_COLUMNS <= set(rows[0])
    assert sorted(int(r["request"]) for r in rows) == list(range(niter))
    for r in rows:
        due, sub, done = float(r["scheduled_s"]), float(r["submitted_s"]), float(r["completed_s"])
        assert done >= sub >= due >= 0
        assert float(r["latency_ms"]) == pytest.approx((done - sub) * 1e3, abs=0.01)


def check_summary(summary, niter):
    assert summary["openvino_version"]
    stats = summary["stats"]
    assert stats["count"] == niter
    assert stats["throughput_fps"] > 0
    lat = stats["latency_ms"]
    assert set(lat) >= {"median", "mean", "min", "max", "p90", "p99"}
    assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]


def test_batch_cpu_4_completes_in_groups_of_4(tmp_path, tiny_model):
    out = tmp_path / "run"
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=24",
                   "--interval=5", "--nireq=8", "--CACHE_DIR=", f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = read_records(out)
    check_records(rows, 24)
    summary = read_summary(out)
    check_summary(summary, 24)
    assert summary["settings"]["device"] == "BATCH:CPU(4)"
    assert "CACHE_DIR" not in summary["properties"]
    assert summary["batching"] == {"batching": True, "batch_size": 4,
                                   "requested_batch_size": 4, "timeout_ms": 1000}
    # straight from the CSV: completions come in bursts of 4 separated by clear gaps
    times = sorted(float(r["completed_s"]) for r in rows)
    bursts, size = [], 1
    for a, b in zip(times, times[1:]):
        if b - a > 0.002:
            bursts.append(size)
            size = 0
        size += 1
    bursts.append(size)
    assert bursts == [4] * 6
    assert Counter(Counter(int(r["batch"]) for r in rows).values()) == {4: 6}
    assert summary["batches"]["text"] == "6 batches of 4"
    assert {r["ran"] for r in rows} == {"batched"} and {r["flush"] for r in rows} == {"-1"}
    assert summary["batches"]["requests_batched"] == 24
    assert summary["batches"]["batched_share"] == 1.0
    for b in range(6):  # one batch, one worker: the slots s // 4 of its requests agree
        assert len({int(r["slot"]) // 4 for r in rows if r["batch"] == str(b)}) == 1
    assert "can never fill a batch" not in p.stdout  # 8 = two full workers
    assert (out / "timeline.png").stat().st_size > 10_000
    assert "queue of 8 requests" in p.stdout
    assert "OPTIMAL_NUMBER_OF_INFER_REQUESTS 4" in p.stdout


def test_latency_graph_records_every_request(tmp_path, tiny_model):
    out = tmp_path / "lat"
    p = run_script(LATENCY, f"--model={tiny_model}", "--niter=50", "--interval=2",
                   f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    check_records(read_records(out), 50)
    summary = read_summary(out)
    check_summary(summary, 50)
    assert summary["settings"]["device"] == "AUTO"
    assert summary["nireq"] == summary["optimal_number_of_infer_requests"] >= 1
    assert summary["device_switch"] is None
    assert "no device switch" in summary["device_note"]
    assert (out / "latency.png").stat().st_size > 10_000
    assert "EXECUTION_DEVICES" in p.stdout


def test_no_display_skips_the_window_and_says_where_the_png_is(tmp_path, tiny_model):
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=CPU", "--niter=5",
                   "--interval=1", "--show=True", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "no display (DISPLAY is not set): live view and window skipped" in p.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("auto-test-")
    assert f"results: {Path('runs') / runs[0].name}" in p.stdout
    assert (runs[0] / "timeline.png").exists()


def test_default_runs_build_the_standin_once(tmp_path):
    env = headless_env(str(tmp_path / "cache"))  # empty: other tests share theirs
    first = run_script(LATENCY, "--niter=10", "--interval=0", "--show=False", cwd=tmp_path,
                       env=env)
    assert first.returncode == 0, first.stderr
    assert "building a stand-in with random weights" in first.stdout
    assert "STAND-IN with random weights" in first.stdout
    second = run_script(TIMELINE, "--niter=8", "--interval=0", "--show=False", "--CACHE_DIR=",
                        cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr
    assert "building a stand-in" not in second.stdout
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        summary = read_summary(run)
        assert summary["model"]["standin"] is True
        assert summary["model"]["inputs"][0]["shape"] == "[1,224,224,3]"
        assert summary["model"]["outputs"][0]["shape"] == "[1,1001]"
    assert not (tmp_path / "public").exists()  # never at the real model's path


def test_a_second_run_never_overwrites_the_first(tmp_path, tiny_model):
    out = tmp_path / "same"
    args = [f"--model={tiny_model}", "--device=CPU", "--niter=3", "--interval=0",
            f"--out={out}"]
    assert run_script(TIMELINE, *args, cwd=tmp_path).returncode == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    again = run_script(TIMELINE, *args, cwd=tmp_path)
    assert again.returncode == 2
    assert "already holds files" in again.stderr
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_nireq_zero_takes_the_optimal_number(tmp_path, tiny_model):
    out = tmp_path / "opt"
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=CPU", "--niter=6",
                   "--interval=0", "--nireq=0", "--PERFORMANCE_HINT=LATENCY", f"--out={out}",
                   cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = read_summary(out)
    assert summary["nireq"] == summary["optimal_number_of_infer_requests"] == 1
    assert summary["batches"]["count"] == 0


def test_help_lists_settings_defaults_and_devices(tmp_path):
    p = run_script(TIMELINE, "--help", cwd=tmp_path)
    assert p.returncode == 0
    for key in ("--model=", '"--device=BATCH:CPU(8)"', "--niter=40", "--interval=30.0",
                "--nireq=16", "--show=True", "--PERFORMANCE_HINT=THROUGHPUT"):
        assert key in p.stdout
    assert "requests to submit" in p.stdout  # the comment beside the setting
    assert "Devices on this machine: CPU" in p.stdout


def test_starved_slots_are_warned_and_run_alone_after_the_timer(tmp_path, tiny_model):
    out = tmp_path / "starved"
    p = run_script(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=24",
                   "--interval=10", "--nireq=6", "--AUTO_BATCH_TIMEOUT=200", "--CACHE_DIR=",
                   f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "warning: slots 4-5 can never fill a batch of 4" in p.stdout
    assert "use nireq=8" in p.stdout
    summary = read_summary(out)
    assert any("slots 4-5" in w for w in summary["warnings"])
    rows = read_records(out)
    for r in rows:
        # worker 1 holds slots 4-5 only: its requests can only ever run alone
        if int(r["slot"]) >= 4:
            assert r["ran"] in ("timeout", "unknown") and r["batch"] == "-1"
        else:
            assert r["ran"] in ("batched", "unknown") and r["flush"] == "-1"
    assert summary["batches"]["timeout"] == sum(r["ran"] == "timeout" for r in rows) > 0


def test_a_run_whose_reader_went_away_still_writes_its_results(tmp_path, tiny_model):
    """``python auto-test-latency-graph.py | head -2``: the pipe closes, the run goes on."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first line already fails
    out = tmp_path / "piped"
    p = subprocess.Popen([sys.executable, str(LATENCY), f"--model={tiny_model}", "--niter=20",
                          "--interval=2", f"--out={out}"], cwd=tmp_path, stdout=write_end,
                         stderr=subprocess.PIPE, text=True, env=headless_env())
    os.close(write_end)
    stderr = p.communicate(timeout=300)[1]
    assert p.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert len(read_records(out)) == 20
