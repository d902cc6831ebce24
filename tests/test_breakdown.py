"""Where each request's time went: the parts add up to its response time, on made-up records
and on real runs of every device string and arrival pattern that runs here."""

import math

import numpy as np
import pytest

from ovsched.data.folder import read_run
from ovsched.data.parts import as_summary
from ovsched.derive import breakdown
from ovsched.run.experiment import run_experiment
from ovsched.views.report import say_breakdown

TOL = breakdown.TOLERANCE_MS


def columns(**c):
    n = len(c["submitted_s"])
    base = {"request": np.arange(n), "scheduled_s": np.zeros(n)}
    base.update({k: np.asarray(v, dtype=object if k == "ran" else float)
                 for k, v in c.items()})
    return base


def test_parts_of_made_up_requests():
    # request 0: late 2 ms of its own, ran alone; request 1: waited 5 ms for a slot, then
    # 30 ms for its batch to fill, 10 ms in the device; request 2: label unknown
    c = columns(scheduled_s=[0.0, 0.010, 0.020], submitted_s=[0.002, 0.015, 0.020],
                completed_s=[0.0125, 0.0555, 0.050], queue_wait_ms=[0.0, 5.0, 0.0],
                infer_ms=[10.0, 40.0, 29.0], ran=["single", "batched", "unknown"],
                launch_s=[math.nan, 0.045, math.nan])
    p = breakdown.parts(c)
    assert np.allclose(p["client_ms"], [2.0, 0.0, 0.0])
    assert np.allclose(p["queue_wait_ms"], [0.0, 5.0, 0.0])
    assert np.allclose(p["batch_wait_ms"][:2], [0.0, 30.0]) and np.isnan(p["batch_wait_ms"][2])
    assert np.allclose(p["device_ms"][:2], [10.0, 10.0]) and np.isnan(p["device_ms"][2])
    assert np.allclose(p["callback_ms"], [0.5, 0.5, 1.0])
    errors = breakdown.sum_errors_ms(c, p)
    assert np.allclose(errors[:2], 0.0, atol=1e-9) and np.isnan(errors[2])
    said = breakdown.notes(c, p)
    assert len(said) == 1 and "1 request(s) labelled unknown" in said[0]


def test_batched_requests_without_launch_times_are_blank_and_say_why():
    c = columns(submitted_s=[0.0, 0.001], completed_s=[0.02, 0.02], queue_wait_ms=[0, 0],
                infer_ms=[19.0, 18.0], ran=["batched", "timeout"])
    p = breakdown.parts(c)
    assert np.isnan(p["batch_wait_ms"]).all() and np.isnan(p["device_ms"]).all()
    assert not np.isnan(p["callback_ms"]).any()
    assert any("no launch times" in n for n in breakdown.notes(c, p))
    entry = breakdown.summarize(c)["requests"][0]
    assert not entry["split"] and "infer_ms" in entry["parts_ms"]
    assert "inference (batch wait + device, not split)" in breakdown.line(entry)


def test_runs_saved_before_waits_and_labels_say_what_is_unknown():
    c = {"request": np.arange(2), "scheduled_s": np.zeros(2),
         "submitted_s": np.array([0.0, 0.001]), "completed_s": np.array([0.01, 0.02]),
         "infer_ms": np.array([9.0, 18.0])}
    p = breakdown.parts(c)
    assert np.isnan(p["client_ms"]).all() and np.isnan(p["batch_wait_ms"]).all()
    said = " ".join(breakdown.notes(c, p))
    assert "before the wait for a free slot" in said and "before requests were labelled" in said
    assert breakdown.summarize(c)["split"] == 0


def test_ranks_pick_the_nearest_rank_request_and_the_line_names_the_biggest_part():
    n = 200
    response = np.arange(n, dtype=float)[::-1] + 1.0  # request 0 is the slowest
    c = columns(submitted_s=np.zeros(n), completed_s=response / 1e3,
                queue_wait_ms=np.zeros(n), infer_ms=response * 0.8,
                ran=["single"] * n)
    block = breakdown.summarize(c)
    by_rank = {e["rank"]: e for e in block["requests"]}
    assert by_rank["slowest"]["request"] == 0
    assert by_rank["median"]["response_ms"] == pytest.approx(100.0)
    assert by_rank["p90"]["response_ms"] == pytest.approx(180.0)
    assert by_rank["p99"]["response_ms"] == pytest.approx(198.0)
    text = breakdown.line(by_rank["p99"])
    assert text == "p99 response 198 ms (request 2) = 80 % device + 20 % callback"
    assert block["max_sum_error_ms"] == pytest.approx(0.0, abs=1e-9)
    lines = []
    say_breakdown(as_summary({"breakdown": block}), lines.append)
    assert lines[0] == f"where the time went: {text}"
    assert lines[1:] == ["  compute not measured (the run was saved before profiles were read)"]


def test_nothing_completed_gives_no_ranks():
    c = columns(submitted_s=[0.0], completed_s=[math.nan], queue_wait_ms=[0.0],
                infer_ms=[math.nan], ran=[""])
    block = breakdown.summarize(c)
    assert block["requests"] == [] and block["max_sum_error_ms"] is None


def check_sum_rule(c):
    p = breakdown.parts(c)
    errors = breakdown.sum_errors_ms(c, p)
    known = ~np.isnan(errors)
    assert np.all(np.abs(errors[known]) <= TOL), errors[known]
    for name in breakdown.PARTS:
        values = p[name][known]
        assert np.all(values >= -TOL), (name, values.min())
    return int(known.sum())


DEVICES = ("CPU", "AUTO", "BATCH:CPU(4)")
ARRIVALS = ("fixed", "poisson", "burst", "replay")
# a replay file's due times (ms): pairs due together, gaps long and short
REPLAY_MS = [0, 0, 1.5, 7, 7, 7, 20, 20.5, 21, 40, 40, 41, 60, 61, 61, 61, 62, 80, 95, 95,
             96, 110, 110, 111]


@pytest.mark.parametrize("arrival", ARRIVALS)
@pytest.mark.parametrize("device", DEVICES)
def test_the_parts_add_up_on_real_runs(tmp_path, tiny_model, device, arrival):
    if arrival == "replay":
        arrival = str(tmp_path / "due.txt")
        (tmp_path / "due.txt").write_text("".join(f"{t}\n" for t in REPLAY_MS))
    settings = {"model": tiny_model, "device": device, "niter": 24, "interval": 2.0,
                "nireq": 4, "show": False, "out": str(tmp_path / "o"), "arrival": arrival,
                "burst": 4, "util_ms": 0.0}
    properties = {"AUTO_BATCH_TIMEOUT": "20"} if device.startswith("BATCH") else {}
    result = run_experiment(settings, properties, kind="timeline")
    run = result.run
    assert run.done.all()
    known = check_sum_rule(run.columns)
    single = run["ran"] == "single"
    assert known >= int(single.sum())
    if device.startswith("BATCH"):
        # every labelled request split, but where the replay's launch contradicts its record
        launched = np.isin(run["ran"], ("batched", "timeout"))
        assert known == int(launched.sum()) - breakdown.launch_conflicts(run.columns)
    else:
        assert single.all() and known == len(run)
        assert np.all(run["batch_wait_ms"] == 0)
    # the saved run gives the same parts, within what the CSV keeps
    saved = read_run(result.out)
    check_sum_rule(saved.columns)
    for name in ("client_ms", "callback_ms"):
        assert np.allclose(saved[name], run[name], atol=1e-3, equal_nan=True)
    # the written columns add up as written, too
    written = sum(saved[k] for k in breakdown.PARTS) - breakdown.response_ms(saved.columns)
    written = written[~np.isnan(written)]
    assert np.all(np.abs(written) <= TOL)
    block = run.summary["breakdown"]
    assert [e["rank"] for e in block["requests"]] == ["median", "p90", "p99", "slowest"]


def test_the_picture_and_the_trace_show_the_parts(tmp_path, tiny_model):
    import json

    from ovsched.views import breakdown_figure
    from ovsched.views.trace import trace_events

    settings = {"model": tiny_model, "device": "BATCH:CPU(2)", "niter": 12, "interval": 2.0,
                "nireq": 4, "show": False, "out": str(tmp_path / "o"), "util_ms": 0.0}
    result = run_experiment(settings, {"AUTO_BATCH_TIMEOUT": "20"}, kind="timeline")
    run = result.run
    assert (tmp_path / "o" / breakdown_figure.FIGURE_NAME).is_file()
    values, done = breakdown_figure.layers(run.columns)
    stacked = sum(values.values())
    assert np.allclose(stacked[done], breakdown.response_ms(run.columns)[done], atol=TOL)
    fig = breakdown_figure.plot_breakdown(run)
    top = fig.axes[0]
    heights = np.zeros(len(run))
    for bar in top.patches:
        heights[round(bar.get_x() + bar.get_width() / 2)] += bar.get_height()
    assert np.allclose(heights, stacked, atol=1e-6)
    assert "p99 response" in fig._suptitle.get_text()
    events = trace_events(run)
    parents = {e["args"]["request"]: e for e in events if e.get("cat") == "request"
               and e["ph"] == "X"}
    children = {}
    for e in events:
        if e.get("cat") == "part":
            children.setdefault(e["args"]["request"], []).append(e)
    assert set(children) == set(parents)
    for i, kids in children.items():
        parent = parents[i]
        assert kids[0]["ts"] == parent["ts"] and all(k["tid"] == parent["tid"] for k in kids)
        for a, b in zip(kids, kids[1:]):
            assert a["ts"] + a["dur"] == pytest.approx(b["ts"], abs=0.11)
        end = kids[-1]["ts"] + kids[-1]["dur"]
        assert end == pytest.approx(parent["ts"] + parent["dur"], abs=0.11)
        names = [k["name"] for k in kids]
        if np.isnan(run["batch_wait_ms"][i]):
            assert names == ["inference (batch wait + device, not split)", "callback"]
        else:
            assert names == ["batch wait", "device", "callback"]
        assert parent["args"]["client_ms"] is not None
    saved = json.loads((tmp_path / "o" / "trace.json").read_text())
    assert any(e.get("cat") == "part" for e in saved["traceEvents"])


def test_a_launch_is_held_inside_the_requests_own_record():
    # request 0: the replay says 0.030 +- 5 ms, but OpenVINO ended it by 0.032: the launch
    # is the middle of 0.025..0.032. Request 1: the replay's 0.050 +- 1 ms lies after its
    # end (0.040): no launch is possible, the parts stay blank and the run says why.
    c = columns(submitted_s=[0.0, 0.0], completed_s=[0.033, 0.041], queue_wait_ms=[0, 0],
                infer_ms=[32.0, 40.0], ran=["batched", "batched"], launch_s=[0.030, 0.050],
                launch_err_ms=[5.0, 1.0])
    p = breakdown.parts(c)
    assert p["batch_wait_ms"][0] == pytest.approx(28.5)
    assert p["device_ms"][0] == pytest.approx(3.5)
    assert np.isnan(p["batch_wait_ms"][1]) and np.isnan(p["device_ms"][1])
    assert breakdown.launch_conflicts(c) == 1
    said = breakdown.notes(c, p)
    assert said == ["batch wait and device unknown for 1 request(s): the replay places their "
                    "launch outside their own submit-to-end interval"]


@pytest.mark.parametrize("name", ["700fae2-latency", "700fae2-timeline", "d3b8048-latency",
                                  "d3b8048-timeline"])
def test_runs_saved_by_earlier_versions_say_what_they_can(name):
    from pathlib import Path

    from ovsched.views.breakdown_figure import plot_breakdown
    from ovsched.views.trace import trace_events

    run = read_run(Path(__file__).parent / "fixtures" / "findings-old" / name)
    block = breakdown.summarize(run.columns)
    assert block["split"] == 0 and len(block["notes"]) == 2
    for entry in block["requests"]:
        # what is known as a whole stands in: the late submit and OpenVINO's own time
        assert set(entry["parts_ms"]) == {"lateness_ms", "infer_ms", "callback_ms"}
        total = sum(entry["parts_ms"].values())
        assert total == pytest.approx(entry["response_ms"], abs=0.003)
        assert "late submit (client + queue wait, not split)" in breakdown.line(entry) or \
            "inference (batch wait + device, not split)" in breakdown.line(entry)
    from ovsched.views.breakdown_figure import layers
    values, done = layers(run.columns)
    assert np.allclose(sum(values.values())[done], breakdown.response_ms(run.columns)[done],
                       atol=0.003)
    assert plot_breakdown(run).axes and trace_events(run)
