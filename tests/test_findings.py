"""Findings: each one a CPU can provoke, on a real run whose settings provoke it by a wide
margin, and absent on a clean run; AUTO's on faked readings; "other programs took the CPU"
on saved runs with constructed utilization samples; ``explain`` on saved runs of this and
earlier versions, without OpenVINO."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, headless_env
from test_switch import simulate_auto

from ovsched.data.records import Run
from ovsched.data.runfile import read_run, write_csv, write_json
from ovsched.derive import findings, switch
from ovsched.derive.findings_base import Finding, Skip, request_ranges
from ovsched.run import experiment
from ovsched.run.runner import Runner
from ovsched.utilization import write_csv as write_utilization_csv

OLD_RUNS = sorted((ROOT / "tests" / "fixtures" / "findings-old").iterdir())
# checks whose outcome the settings decide (the machine's load cannot change them)
BY_SETTINGS = {"starved_workers", "batch_timer", "batch_fallback", "back_pressure",
               "overload", "device_queueing"}


def settings(model, out, **extra):
    base = {"model": model, "device": "CPU", "niter": 20, "interval": 20.0, "nireq": 16,
            "show": False, "out": str(out), "util_ms": 0.0}
    base.update(extra)
    return base


def run(model, tmp_path, properties=None, **extra):
    return experiment.run_experiment(settings(model, tmp_path / "out", **extra),
                                     properties or {}, kind="timeline").run


def by_id(r):
    return {f["id"]: f for f in r.summary["findings"]}


@pytest.fixture
def standin(monkeypatch, tmp_path, cache_dir):
    """The googlenet stand-in (~10-20 ms an inference): slow enough that a queue of one
    and bursts give waits far above any timer noise."""
    monkeypatch.setenv("OVSCHED_CACHE", cache_dir)
    monkeypatch.chdir(tmp_path)
    return experiment.DEFAULT_MODEL


# ---------------------------------------------------------------- real runs

def test_starved_workers(tmp_path, tiny_model):
    r = run(tiny_model, tmp_path, {"AUTO_BATCH_TIMEOUT": "100"}, device="BATCH:CPU(4)",
            nireq=6, interval=5.0, niter=30)
    f = by_id(r)["starved_workers"]
    assert f["severity"] == "warn" and f["fix"].startswith("--nireq=8")
    assert "slots 4-5" in f["evidence"]
    listed = [int(x) for x in f["requests"].replace("-", ",").split(",") if x.strip()]
    assert 4 in listed and 5 in listed  # the first requests to reach the starved slots
    slots = r["slot"]
    in_starved = np.flatnonzero(np.isin(slots, [4, 5]))
    assert f["requests"] == request_ranges(in_starved)
    assert f["values"]["alone"] == int(np.sum(np.isin(slots, [4, 5]) & (r["ran"] == "timeout")))
    assert r.summary["findings"][0]["severity"] == "warn"


def test_batch_timer(tmp_path, tiny_model):
    # at most two requests arrive within a 100 ms timeout: a batch of 4 never fills
    r = run(tiny_model, tmp_path, {"AUTO_BATCH_TIMEOUT": "100"}, device="BATCH:CPU(4)",
            nireq=8, interval=60.0, niter=10)
    assert "batch_timer" in by_id(r), (list(r["ran"]), r.summary["batches"]["notes"])
    f = by_id(r)["batch_timer"]
    assert "8 x 60.0 = 480.0 ms against the 100 ms timeout" in f["evidence"]
    assert "--AUTO_BATCH_TIMEOUT=15" in f["fix"] and "--device=CPU" in f["fix"]
    assert "starved_workers" not in by_id(r)


def test_a_clean_batching_run_has_none_of_them(tmp_path, tiny_model):
    r = run(tiny_model, tmp_path, {"AUTO_BATCH_TIMEOUT": "1000"}, device="BATCH:CPU(4)",
            nireq=16, interval=5.0, niter=32)
    assert r.summary["batches"]["requests_batched"] >= 28  # it batched: checks had data
    assert not BY_SETTINGS & set(by_id(r))


def test_batch_fallback(tmp_path, tiny_model):
    r = run(tiny_model, tmp_path, device="BATCH:CPU", nireq=4, interval=5.0, niter=8)
    f = by_id(r)["batch_fallback"]
    assert f["fix"] == "--device=BATCH:CPU(4)" and "all 8 completed" in f["evidence"]


def test_overload_and_back_pressure_without_room(tmp_path, standin):
    # one slot, a request due every 1 ms, each taking 10-20 ms
    r = run(standin, tmp_path, {"PERFORMANCE_HINT": "LATENCY"}, nireq=1, interval=1.0,
            niter=40)
    found = by_id(r)
    over, back = found["overload"], found["back_pressure"]
    assert over["values"]["offered_per_s"] == pytest.approx(1000.0)
    assert over["values"]["sustained_per_s"] < 500
    assert over["fix"].startswith("--interval=")
    assert back["fix"].startswith("--interval=") and "no room" in back["evidence"]


def drained_between_bursts(r):
    """Whether every request of each burst completed before the next burst was due: the
    device kept up, told from the records alone."""
    due, done = r["scheduled_s"], r["completed_s"]
    starts = np.unique(due)
    return all(np.all(done[due == a] <= b) for a, b in zip(starts[:-1], starts[1:]))


def test_back_pressure_with_room(tmp_path, standin):
    # bursts of 4 at a queue of one, a burst every second: the device keeps up between them
    # (four inferences take a tenth of that on a machine beside two busy processes)
    r = run(standin, tmp_path, {"PERFORMANCE_HINT": "THROUGHPUT"}, nireq=1, niter=12,
            arrival="burst", burst=4, interval=1000.0)
    found = by_id(r)
    assert "back_pressure" in found, found
    if drained_between_bursts(r):
        assert found["back_pressure"]["fix"].startswith("--nireq=4"), found
        assert "overload" not in found, found
    # else a machine so busy that four inferences took over a second: whether the device
    # had room then is what the overload check decides, tested on its own above


def test_queueing_inside_the_device(tmp_path, standin):
    # one stream, six requests in flight at once: the median request waits for 2.5 others
    r = run(standin, tmp_path, {"PERFORMANCE_HINT": "LATENCY"}, nireq=6, niter=12,
            arrival="burst", burst=6, interval=300.0)
    assert r.summary["num_streams"] == 1 and r.summary["inference_num_threads"] >= 1
    f = by_id(r)["device_queueing"]
    assert "1 stream(s) x batch 1 = 1" in f["evidence"]
    assert "--PERFORMANCE_HINT=THROUGHPUT" in f["fix"]


def test_one_request_at_a_time_does_not_queue_in_the_device(tmp_path, standin):
    # 400 ms apart: ten times what an inference takes even beside busy processes
    r = run(standin, tmp_path, {"PERFORMANCE_HINT": "LATENCY"}, nireq=4, niter=8,
            interval=400.0)
    found = set(by_id(r))
    assert not (BY_SETTINGS - {"device_queueing"}) & found, found
    alone = all(done <= nxt for done, nxt in zip(r["completed_s"][:-1], r["scheduled_s"][1:]))
    if alone:  # each request ended before the next was due: never two in the device
        assert "device_queueing" not in found


def test_pacing_when_the_timer_wakes_late(monkeypatch, tmp_path, tiny_model):
    """Every sleep ends 10 ms late (as Windows' timer tick can), without real-time priority:
    the client falls behind its own schedule, and the finding says why."""
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: real_sleep(s + 0.010))
    monkeypatch.setattr(Runner, "_favour_this_thread", lambda self: "default")
    r = run(tiny_model, tmp_path, {"PERFORMANCE_HINT": "LATENCY"}, interval=20.0, niter=20)
    f = by_id(r)["pacing"]
    assert "no real-time priority" in f["evidence"]
    assert f["values"]["pacing_p99_ms"] >= 9.0
    assert "back_pressure" not in by_id(r)  # lateness, not waits for a slot


def test_auto_on_this_cpu_stays_on_the_cpu(tmp_path, tiny_model):
    r = run(tiny_model, tmp_path, device="AUTO", nireq=4, interval=5.0, niter=12)
    f = by_id(r)["auto_cpu_only"]
    assert f["severity"] == "info" and "this machine's devices: CPU" in f["evidence"]
    r = run(tiny_model, tmp_path / "cpu", device="CPU", nireq=4, interval=5.0, niter=12)
    assert not [k for k in by_id(r) if k.startswith("auto_")]


# ---------------------------------------------------------------- AUTO, faked readings

def auto_run(sim, **summary):
    n = len(sim["submitted"])
    r = Run.from_arrays(np.arange(n) * 0.03, sim["submitted"], sim["completed"],
                        np.zeros(n), sim["device"], np.full(n, 10.0))
    r.columns["ran"] = np.full(n, "single", dtype=object)
    r.summary = {"device": "AUTO", "settings": {"device": "AUTO", "interval": 30.0},
                 "nireq": 4, "device_readings": sim["readings"],
                 "batching": {"batching": False}, "properties": {}, **summary}
    return auto_run_from(r)


def ids(r):
    return {f.id for f in findings.find(r)}


def test_a_real_switch_is_no_finding_of_auto():
    r = auto_run(simulate_auto(3, ready_s=0.505))
    assert not {"auto_cpu_only", "auto_cache_hit", "auto_no_cpu_phase",
                "auto_fallback"} & ids(r)


def test_auto_cache_hit_and_no_cpu_phase():
    sim = simulate_auto(4, ready_s=0.0)  # the accelerator answers from the first request
    sim["readings"] = [{"device": "GPU.0", "first_s": 0.0, "last_s": 1.8, "readings": 90}]
    sim["device"] = np.full(len(sim["device"]), "GPU.0", dtype=object)
    hit = auto_run(sim, properties={"CACHE_DIR": "./cache"}, compile_s=0.4)
    f = {f.id: f for f in findings.find(hit)}["auto_cache_hit"]
    assert "CACHE_DIR=./cache" in f.title and f.fix.startswith("--CACHE_DIR=")
    assert "auto_no_cpu_phase" in ids(auto_run(sim))
    assert "auto_cache_hit" not in ids(auto_run(sim))


def test_auto_runtime_fallback():
    sim = simulate_auto(5, ready_s=0.3)
    back_s = 1.2
    readings = [dict(r) for r in sim["readings"]]
    readings[-1]["last_s"] = back_s - 0.01
    readings.append({"device": "CPU", "first_s": back_s, "last_s": 1.9, "readings": 30})
    r = auto_run(sim, device_readings=readings)
    f = {f.id: f for f in findings.find(r)}["auto_fallback"]
    after = np.flatnonzero(r["submitted_s"] >= back_s)
    assert f.requests == request_ranges(after) and f.severity == "warn"
    assert "--ENABLE_RUNTIME_FALLBACK=NO" in f.fix
    # the helper read again after the accelerator (it compiled first) is no fallback
    early = [dict(readings[0], device="GPU.0", last_s=0.05)] + [
        dict(x, first_s=max(x["first_s"], 0.06)) for x in sim["readings"]]
    assert "auto_fallback" not in ids(auto_run(sim, device_readings=early))


def test_auto_first_inference_cost():
    sim = simulate_auto(6, ready_s=0.505)
    r = auto_run(sim)
    gpu = np.flatnonzero(r["device"] == "GPU.0")
    first = gpu[0]
    assert "auto_first_inference" not in ids(r)
    r.columns["completed_s"][first] = r["submitted_s"][first] + 0.4  # 400 ms
    f = {f.id: f for f in findings.find(auto_run_from(r))}["auto_first_inference"]
    assert f.requests == str(first) and "400.0 ms" in f.evidence


def auto_run_from(r):
    """The switch window placed from the run's readings, as the derived stage places it."""
    r.summary["device_switch_window"] = switch.switch_window(
        r.summary["device_readings"], r["submitted_s"], r["completed_s"])
    return r


# ---------------------------------------------------------------- other programs (saved)

def saved_run(tmp_path, latency_ms, cpu, process, period_s=0.1):
    """A saved CPU run: requests 50 ms apart with the given latencies, and utilization
    samples every ``period_s`` with the given cpu and process values (functions of t)."""
    n = len(latency_ms)
    due = np.arange(n) * 0.05
    done = due + np.asarray(latency_ms) / 1e3
    r = Run.from_arrays(due, due, done, np.arange(n) % 4, np.full(n, "CPU", dtype=object),
                        np.asarray(latency_ms) - 0.3)
    r.columns["ran"] = np.full(n, "single", dtype=object)
    r.summary = {"kind": "timeline", "device": "CPU", "nireq": 4, "num_streams": 2,
                 "settings": {"device": "CPU", "interval": 50.0, "niter": n, "show": False},
                 "batching": {"batching": False}, "submit_thread_priority": "SCHED_FIFO 1",
                 "utilization": {"period_ms": period_s * 1e3}}
    t = np.arange(-0.275, n * 0.05 + 0.5, period_s)
    util = {"time_s": [], "source": [], "value": []}
    for x in t:
        for source, f in (("cpu", cpu), ("process", process)):
            util["time_s"].append(float(x))
            util["source"].append(source)
            util["value"].append(float(f(x)))
    folder = tmp_path / "saved"
    folder.mkdir()
    write_csv(r, folder / "records.csv")
    write_json(r.summary, folder / "summary.json")
    write_utilization_csv(util, str(folder / "utilization.csv"))
    return read_run(folder)


def spiky(n=60, at=(20, 21, 40)):
    lat = np.full(n, 10.0)
    lat[list(at)] = 60.0
    return lat


def test_other_programs_took_the_cpu_during_the_spikes(tmp_path):
    # samples end at 0.025 + k/10 s; those around requests 20-21 (1.0-1.11 s) and 40
    # (2.0-2.06 s) see other programs take 70 % of the CPUs
    busy = lambda t: 1.0 <= t <= 1.13 or 2.0 <= t <= 2.13  # noqa: E731
    r = saved_run(tmp_path, spiky(), cpu=lambda t: 95.0 if busy(t) else 25.0,
                  process=lambda t: 25.0)
    f = {f.id: f for f in findings.find(r)}["other_programs"]
    assert f.requests == "20-21, 40"
    assert f.values["others_during_pct"] >= 60 and f.values["others_rest_pct"] < 10


def test_spikes_on_a_quiet_machine_are_not_blamed_on_others(tmp_path):
    r = saved_run(tmp_path, spiky(), cpu=lambda t: 30.0, process=lambda t: 25.0)
    assert "other_programs" not in ids(r)


def test_a_busy_machine_without_spikes_is_no_finding(tmp_path):
    r = saved_run(tmp_path, np.full(60, 10.0), cpu=lambda t: 100.0, process=lambda t: 20.0)
    assert "other_programs" not in ids(r)


def test_without_samples_the_check_says_it_cannot_decide(tmp_path):
    r = saved_run(tmp_path, spiky(), cpu=lambda t: 95.0, process=lambda t: 5.0)
    r.utilization = None
    result = dict(findings.check_all(r))["other_programs"]
    assert isinstance(result, Skip) and "utilization" in result.reason


# ---------------------------------------------------------------- ranking and data

def test_warnings_rank_first_then_by_the_time_they_account_for():
    def f(i, severity, impact):
        return Finding(i, severity, i, "e", "--x=1", "", {}, impact)
    ranked = findings.rank([f("a", "info", 900.0), f("b", "warn", 10.0), f("c", "warn", None),
                            f("d", "warn", 50.0)])
    assert [x.id for x in ranked] == ["d", "b", "c", "a"]
    with pytest.raises(ValueError):
        Finding("x", "error", "t", "e", "f", "")


def test_a_finding_round_trips_through_json():
    f = Finding("back_pressure", "warn", "t", "e", "--nireq=4", "1-3",
                {"waited": np.int64(3), "x": float("nan"), "slots": np.array([4, 5])}, 12.5)
    d = json.loads(json.dumps(f.to_dict()))
    assert d["values"] == {"waited": 3, "x": None, "slots": [4, 5]}
    assert Finding.from_dict(d).to_dict() == d


def test_request_ranges():
    assert request_ranges([8, 0, 1, 2, 3, 10, 11]) == "0-3, 8, 10-11"
    assert request_ranges([]) == ""
    assert request_ranges(range(0, 40, 2), limit=3) == "0, 2, 4 and 17 more"


# ---------------------------------------------------------------- explain

EXPLAIN = ("import sys; sys.modules['openvino'] = None\n"
           "from ovsched.__main__ import main\n"
           "code = main(['explain', sys.argv[1]])\n"
           "assert not [m for m in sys.modules if m.startswith('openvino')\n"
           "            and sys.modules[m] is not None], 'openvino imported'\n"
           "sys.exit(code)\n")


def explain(folder):
    return subprocess.run([sys.executable, "-c", EXPLAIN, str(folder)], cwd=ROOT,
                          env=headless_env(), capture_output=True, text=True, timeout=120)


def test_explain_prints_the_runs_own_findings_without_openvino(tmp_path, tiny_model):
    s = settings(tiny_model, tmp_path / "out", device="BATCH:CPU(4)", nireq=6, interval=5.0,
                 niter=30)
    result = experiment.run_experiment(s, {"AUTO_BATCH_TIMEOUT": "100"}, kind="timeline")
    p = explain(result.out)
    assert p.returncode == 0, p.stderr
    saved = result.run.summary["findings"]
    assert saved and f"findings: {len(saved)}" in p.stdout
    for f in saved:
        assert f["title"] in p.stdout and f["evidence"] in p.stdout
    assert "where the time went" in p.stdout and "p99 response" in p.stdout
    assert "not checked" in p.stdout and "other_programs" in p.stdout  # util_ms was 0


@pytest.mark.parametrize("folder", OLD_RUNS, ids=[p.name for p in OLD_RUNS])
def test_explain_runs_saved_by_earlier_versions(folder):
    p = explain(folder)
    assert p.returncode == 0, p.stderr
    assert "derived now: this run was saved before findings were kept" in p.stdout
    assert "back_pressure: queue_wait_ms was not recorded" in p.stdout
    if "timeline" in folder.name:
        assert "starved_workers: this run has no batch labels" in p.stdout
    else:
        assert "auto_cpu_only: no EXECUTION_DEVICES readings" in p.stdout


def test_explain_refuses_a_folder_that_is_no_run(tmp_path):
    p = explain(tmp_path)
    assert p.returncode == 2 and "is not a saved run" in p.stderr
    assert "Traceback" not in p.stderr


def test_the_figure_names_the_top_finding(tmp_path, tiny_model):
    from ovsched.views.plots import plot_timeline
    r = run(tiny_model, tmp_path, {"AUTO_BATCH_TIMEOUT": "100"}, device="BATCH:CPU(4)",
            nireq=6, interval=5.0, niter=30)
    top = r.summary["findings"][0]
    title = plot_timeline(r).axes[0].get_title()
    assert top["title"] in title.replace("\n", " ")


def test_old_runs_load_for_explain_with_their_own_columns():
    for folder in OLD_RUNS:
        r = read_run(Path(folder))
        # what these fixtures stand for: no slot waits, batch ids from a grouping by time
        assert not np.isfinite(r.columns.get("queue_wait_ms", [np.nan])).any()
        checked = dict(findings.check_all(r))
        assert isinstance(checked["back_pressure"], Skip)
        assert isinstance(checked["pacing"], Skip)
        if r.summary["batching"] and r.summary["batching"]["batching"]:
            assert isinstance(checked["starved_workers"], Skip)  # no claim from old ids
            assert isinstance(checked["batch_timer"], Skip)


def test_a_flood_is_a_note_with_the_rate_the_device_sustained():
    n = 50
    due = np.zeros(n)
    sub = np.arange(n) * 0.0001
    done = 0.02 + np.arange(n) * 0.02  # one every 20 ms: 50/s
    r = Run.from_arrays(due, sub, done, np.zeros(n), np.full(n, "CPU", dtype=object),
                        np.full(n, 19.0))
    r.summary = {"device": "CPU", "nireq": 1, "batching": {"batching": False},
                 "settings": {"device": "CPU", "interval": 0.0}}
    f = {f.id: f for f in findings.find(r)}["overload"]
    assert f.severity == "info" and f.values["sustained_per_s"] == pytest.approx(50.0)
    assert f.fix.startswith("--interval=22.0")


def test_the_terminal_prints_the_top_three_in_their_rank():
    from ovsched.views.report import print_findings
    found = [Finding(f"f{i}", "warn", f"title {i}", f"evidence {i}", f"--x={i}", str(i)).to_dict()
             for i in range(4)]
    said = []
    print_findings(found, "runs/x", said.append)
    text = "\n".join(said)
    assert "top 3 of 4" in said[0] and "explain runs/x" in said[0]
    assert text.index("title 0") < text.index("title 1") < text.index("title 2")
    assert "title 3" not in text and "try: --x=0" in text
    said.clear()
    print_findings([], "runs/x", said.append)
    assert said and said[0].startswith("findings: none")
