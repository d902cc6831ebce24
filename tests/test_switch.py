"""AUTO's switch from its CPU helper to an accelerator, placed from EXECUTION_DEVICES readings.

No accelerator exists here, so the readings come from a fake compiled model whose
EXECUTION_DEVICES follows AUTO's rules (src/plugins/auto/src/auto_schedule.cpp,
auto_compiled_model.cpp): "(CPU)" while the helper exists; new requests go to the
accelerator as soon as it is ready, but the property names it only once every helper
request has finished and the helper was released."""

import heapq
import threading

import numpy as np
import pytest
from conftest import LATENCY, read_records, read_summary, run_script

from ovsched.derive import switch
from ovsched.data.folder import read_run
from ovsched.data.records import Run
from ovsched.data.runfile import to_json, write_csv, write_json

nan = float("nan")


class ScriptedAuto:
    """EXECUTION_DEVICES of an AUTO compiled model, answered from a simulated clock."""

    def __init__(self, now):
        self.now = now
        self.release_s = float("inf")

    def get_property(self, name):
        assert name == "EXECUTION_DEVICES"
        return ["(CPU)"] if self.now() < self.release_s else ["GPU.0"]


def simulate_auto(seed, *, n=60, interval_s=0.03, helper_s=0.02, gpu_s=0.008, ready_s=None,
                  lag_s=0.015, callback_s=0.002):
    """Requests through AUTO's schedule with true times; readings taken as the runner takes
    them (before each submit, after completions). Returns the records, the readings and
    the truth: where each request ran, when the accelerator was ready and the helper
    released."""
    rng = np.random.default_rng(seed)
    ready_s = rng.uniform(0.2, 1.2) if ready_s is None else ready_s
    clock = {"t": 0.0}
    fake = ScriptedAuto(lambda: clock["t"])
    log = switch.DeviceLog(fake, lambda: clock["t"])
    submitted = np.full(n, nan)
    completed = np.full(n, nan)
    code_at_submit = np.zeros(n, dtype=int)
    ran_on = [None] * n
    events, seq = [], [0]
    helper = {"busy": None}
    backlog = []

    def at(t, kind, *data):
        seq[0] += 1
        heapq.heappush(events, (t, seq[0], kind, data))

    def start_on_helper(i, t):
        helper["busy"] = i
        ran_on[i] = "CPU"
        at(t + helper_s * rng.uniform(0.9, 1.4), "helper_done", i)

    def start_on_gpu(i, t):
        ran_on[i] = "GPU.0"
        at(t + gpu_s * rng.uniform(0.8, 2.0), "done", i)

    def maybe_release(t):
        if t >= ready_s and helper["busy"] is None and not backlog \
                and fake.release_s == float("inf"):
            at(t + rng.uniform(0, lag_s), "release")

    for i in range(n):
        at(i * interval_s + rng.uniform(0, 0.002), "submit", i)
    at(ready_s, "ready")
    while events:
        t, _, kind, data = heapq.heappop(events)
        clock["t"] = t
        if kind == "submit":
            (i,) = data
            code_at_submit[i] = log.read()
            submitted[i] = clock["t"]
            if t >= ready_s:
                start_on_gpu(i, t)
            elif helper["busy"] is None:
                start_on_helper(i, t)
            else:
                backlog.append(i)
        elif kind == "helper_done":
            (i,) = data
            helper["busy"] = None
            at(t + rng.uniform(0, callback_s), "done", i)
            if backlog:  # the helper takes queued work, before and after the accelerator
                start_on_helper(backlog.pop(0), t)
            maybe_release(t)
        elif kind == "done":
            (i,) = data
            completed[i] = t
            if rng.random() < 0.7:  # the reader batches a few completions into one reading
                at(t + rng.uniform(0, 0.001), "read")
        elif kind == "read":
            log.read()
        elif kind == "ready":
            while backlog and t >= ready_s:  # the accelerator also serves queued work
                start_on_gpu(backlog.pop(0), t)
            maybe_release(t)
        elif kind == "release":
            fake.release_s = t
    names = np.asarray([switch.normalise(d) for d in log.names], dtype=object)
    return {"submitted": submitted, "completed": completed, "device": names[code_at_submit],
            "readings": log.summary(), "ran_on": np.asarray(ran_on, dtype=object),
            "ready_s": ready_s, "release_s": fake.release_s}


def check_never_wrong(sim, lag_s=switch.RELEASE_LAG_S):
    window = switch.switch_window(sim["readings"], sim["submitted"], sim["completed"],
                                  lag_s=lag_s)
    assert window is not None
    # the window holds both the real move and the property's change
    assert window["start_s"] <= sim["ready_s"] <= sim["release_s"] <= window["end_s"]
    placed = switch.placed(sim["device"], window, sim["submitted"], sim["completed"],
                           sim["readings"])
    pinned = placed != switch.DURING
    assert (placed[pinned] == sim["ran_on"][pinned]).all()
    return window, placed


@pytest.mark.parametrize("seed", range(40))
def test_paced_requests_are_pinned_only_where_the_readings_prove_it(seed):
    sim = simulate_auto(seed)
    window, placed = check_never_wrong(sim)
    # the property lags: some requests read "(CPU)" at their submit yet ran on the GPU
    # whenever the accelerator was ready before the helper drained
    assert window["to"] == "GPU.0" and window["from"] == "CPU"
    # paced requests leave idle moments: the window covers a few requests, not the run
    assert (placed == switch.DURING).sum() <= 4


def test_the_submit_reading_alone_would_pin_requests_to_the_wrong_device():
    wrong = 0
    for seed in range(40):
        sim = simulate_auto(seed, ready_s=0.505)
        wrong += int((sim["device"] != sim["ran_on"]).sum())
        check_never_wrong(sim)
    assert wrong > 0  # what the window protects against happens in these runs


@pytest.mark.parametrize("seed", range(10))
def test_a_saturated_helper_leaves_everything_before_the_switch_undecided(seed):
    # requests come faster than the helper runs them: never idle before the switch
    sim = simulate_auto(seed, interval_s=0.01, helper_s=0.03, ready_s=0.4)
    window, placed = check_never_wrong(sim)
    before = sim["submitted"] < window["end_s"]
    assert window["start_s"] <= sim["submitted"][0]
    assert (placed[before] == switch.DURING).all()


def test_no_helper_no_window():
    readings = [{"device": "CPU", "first_s": 0.0, "last_s": 1.0, "readings": 40}]
    assert switch.switch_window(readings, [0.0], [0.02]) is None
    readings = [{"device": "(CPU)", "first_s": 0.0, "last_s": 1.0, "readings": 40}]
    assert switch.switch_window(readings, [0.0], [0.02]) is None  # never switched
    assert switch.switch_window(None, [0.0], [0.02]) is None


def test_last_idle_moment():
    sub = [0.0, 0.03, 0.05, 0.2]
    done = [0.02, 0.06, 0.09, nan]
    assert switch.last_idle_s(sub, done, 0.025) == 0.025  # between two requests
    assert switch.last_idle_s(sub, done, 0.07) == 0.03  # inside the stretch from 0.03
    assert switch.last_idle_s(sub, done, 5.0) == 0.2  # never completed: busy since
    assert switch.last_idle_s(sub, done, -1.0) == -1.0  # before the first submit


def test_readings_from_two_threads_keep_their_order():
    calls = {"n": 0}

    class Flips:
        def get_property(self, name):
            calls["n"] += 1
            return ["(CPU)"] if calls["n"] <= 1500 else ["GPU.0"]

    import time
    t0 = time.perf_counter()
    log = switch.DeviceLog(Flips(), lambda: time.perf_counter() - t0)
    threads = [threading.Thread(target=lambda: [log.read() for _ in range(1000)])
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = log.summary()
    assert [r["device"] for r in runs] == ["(CPU)", "GPU.0"]
    assert [r["readings"] for r in runs] == [1500, 500]
    assert runs[0]["last_s"] <= runs[1]["first_s"]


def synthetic_auto_run():
    sim = simulate_auto(3, ready_s=0.505)
    n = len(sim["submitted"])
    run = Run.from_arrays(np.arange(n) * 0.03, sim["submitted"], sim["completed"],
                          np.zeros(n), sim["device"], np.full(n, 10.0))
    run.columns["device_done"] = sim["device"].copy()
    run.summary = {"settings": {"device": "AUTO", "interval": 30.0, "niter": n}, "nireq": 4,
                   "device_readings": sim["readings"], "batching": {"batching": False}}
    return run, sim


def test_derive_counts_the_requests_during_the_switch_apart():
    from ovsched.run.experiment import derive
    run, sim = synthetic_auto_run()
    run = derive(run, {"batching": False})
    s = run.summary
    window = s.device_switch_window
    inside = int((switch.placed(run["device"], to_json(window), run["submitted_s"],
                                run["completed_s"]) == switch.DURING).sum())
    assert window.requests == inside > 0
    per = s.stats.per_device
    assert per[switch.DURING].count == inside
    assert per["CPU"].count + per["GPU.0"].count + inside == len(run)
    assert "counted as 'during the switch'" in s.device_note


def test_the_figures_draw_the_switch_window_from_a_saved_run(tmp_path):
    from ovsched.run.experiment import derive
    from ovsched.views.plots import plot_latency, plot_timeline
    run, sim = synthetic_auto_run()
    run = derive(run, {"batching": False})
    run.summary.kind = "latency"
    write_csv(run, tmp_path / "records.csv")
    write_json(run.summary, tmp_path / "summary.json")
    saved = read_run(tmp_path)
    assert saved["device_done"].tolist() == run["device_done"].tolist()
    inside = run.summary.device_switch_window.requests
    legend = [t.get_text() for t in plot_latency(saved).axes[0].get_legend().get_texts()]
    assert any(switch.DURING in t and f"{inside} requests" in t for t in legend)
    legend = [t.get_text() for t in plot_timeline(saved).axes[0].get_legend().get_texts()]
    assert any(f"{inside} requests {switch.DURING}" in t for t in legend)


def test_auto_on_a_cpu_reads_the_device_once_it_is_settled_and_fills_in_the_rest(
        tmp_path, tiny_model):
    out = tmp_path / "auto"
    p = run_script(LATENCY, f"--model={tiny_model}", "--niter=60", "--interval=10",
                   f"--out={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = read_records(out)
    assert {r["device"] for r in rows} == {r["device_done"] for r in rows} == {"CPU"}
    summary = read_summary(out)
    (readings,) = summary["device_readings"]
    # AUTO chose the CPU itself (no helper): read at the first submit, then at most every
    # SETTLED_READ_S while submitting, and once at the end
    span_s = max(float(r["submitted_s"]) for r in rows)
    assert readings["device"] == "CPU"
    assert 2 <= readings["readings"] <= 2 + span_s / switch.SETTLED_READ_S + 1
    assert readings["last_s"] >= max(float(r["completed_s"]) for r in rows)
    assert summary["device_switch_window"] is None


class FallsBack:
    """EXECUTION_DEVICES of AUTO on an accelerator that falls back to the CPU at
    ``fallback_s`` (runtime fallback: every request submitted after it runs there)."""

    def __init__(self, now, fallback_s):
        self.now = now
        self.fallback_s = fallback_s

    def get_property(self, name):
        return ["GPU.0"] if self.now() < self.fallback_s else ["CPU"]


@pytest.mark.parametrize("fallback_s", [0.37, 0.501, 1.234])
def test_settled_readings_leave_unknown_only_around_a_change(fallback_s):
    clock = {"t": 0.0}
    fake = FallsBack(lambda: clock["t"], fallback_s)
    log = switch.DeviceLog(fake, lambda: clock["t"])
    sub = np.arange(80) * 0.02 + 0.001
    codes = []
    for t in sub:
        clock["t"] = float(t)
        codes.append(log.read_if_due())
    clock["t"] = float(sub[-1]) + 0.01
    log.read()  # the runner's reading at the end
    assert sum(r["readings"] for r in log.summary()) < 80 / 5  # far fewer than one a submit
    filled = log.fill(codes, sub)  # may add UNKNOWN to the names
    filled = np.asarray(log.names, dtype=object)[filled]
    truth = np.where(sub < fallback_s, "GPU.0", "CPU")
    known = filled != switch.UNKNOWN
    assert (filled[known] == truth[known]).all()
    runs = log.summary()
    gpu_last, cpu_first = runs[0]["last_s"], runs[1]["first_s"]
    # unknown: exactly the requests between the last GPU reading and the first CPU one
    assert (~known == ((sub > gpu_last) & (sub < cpu_first))).all()
    assert 0 < (~known).sum() <= switch.SETTLED_READ_S / 0.02 + 1
    placed = switch.placed(filled, None, sub, sub + 0.005, runs)
    assert (placed == filled).all()  # the accelerator's rule stops at the fallback


@pytest.mark.parametrize("lag_ms", [40, 80])
def test_a_slower_release_is_covered_by_the_allowance_from_the_run(lag_ms):
    from ovsched.derive.labels import allowance
    # a machine whose threads wake up to lag_ms late: its wake probe says so, and the
    # window's allowance follows
    missed = 0
    for seed in range(30):
        sim = simulate_auto(seed, ready_s=0.505, lag_s=lag_ms / 1e3)
        ms, how = allowance(sim["submitted"], sim["completed"], None, wake_late_ms=[lag_ms])
        assert ms == lag_ms and "wake" in how
        check_never_wrong(sim, lag_s=ms / 1e3)
        window = switch.switch_window(sim["readings"], sim["submitted"], sim["completed"])
        missed += not (window["start_s"] <= sim["ready_s"])  # the fixed 20 ms
    assert missed > 0  # what a fixed allowance gets wrong on such a machine


def test_an_accelerator_ready_before_the_helper_ran_every_request():
    # read: GPU.0 (compiled first), then (CPU) once the helper compiled, then GPU.0 again
    # once AUTO released it; every request went to the accelerator
    readings = [{"device": "GPU.0", "first_s": -0.01, "last_s": 0.05, "readings": 3},
                {"device": "(CPU)", "first_s": 0.06, "last_s": 0.40, "readings": 12},
                {"device": "GPU.0", "first_s": 0.42, "last_s": 0.9, "readings": 20}]
    sub = np.arange(30) * 0.03
    done = sub + 0.008
    at_submit = np.where((sub >= 0.06) & (sub <= 0.41), "CPU", "GPU.0").astype(object)
    assert switch.switch_window(readings, sub, done) is None
    placed = switch.placed(at_submit, None, sub, done, readings)
    assert set(placed.tolist()) == {"GPU.0"}
