"""What is derived from the records after a run: statistics and device switches (batch
labels: labels.py; AUTO's switch window: switch.py).

Everything here is a pure function of the records, so a saved run gives the same answers
when it is loaded again without OpenVINO.
"""

import numpy as np


def describe(values):
    """Median, mean, min, max, p90 and p99 of an array (None for each when it is empty)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    keys = ("median", "mean", "min", "max", "p90", "p99")
    if values.size == 0:
        return dict.fromkeys(keys)
    return {
        "median": float(np.median(values)),
        "mean": float(values.mean()),
        "min": float(values.min()),
        "max": float(values.max()),
        "p90": float(np.percentile(values, 90)),
        "p99": float(np.percentile(values, 99)),
    }


def stats(run, mask=None):
    """Count, duration, throughput, latency and submit lateness of (a subset of) a run."""
    mask = np.ones(len(run), dtype=bool) if mask is None else mask
    done = mask & run.done
    count = int(done.sum())
    result = {"count": count, "submitted": int(mask.sum())}
    if count:
        start = float(np.nanmin(run["submitted_s"][mask]))
        end = float(np.nanmax(run["completed_s"][done]))
        duration = end - start
        result["duration_s"] = duration
        result["throughput_fps"] = count / duration if duration > 0 else None
    else:
        result["duration_s"] = 0.0
        result["throughput_fps"] = None
    result["latency_ms"] = describe(run["latency_ms"][done])
    lateness = run["lateness_ms"][mask]
    late = describe(lateness)
    result["lateness_ms"] = {"p50": late["median"], "p99": late["p99"],
                             "mean": late["mean"], "max": late["max"]}
    result["pacing_ms"] = pacing_stats(run, mask)
    first = np.flatnonzero(done)
    result["first_latency_ms"] = float(run["latency_ms"][first[0]]) if first.size else None
    return result


def pacing_ms(run):
    """Per request, the submit thread's own delay (ms): submit lateness minus the wait for
    a free queue slot, counted from when the thread was free to submit it.

    The thread is free once the request is due and the one before it was submitted: a
    request due while its predecessor still waited for a slot inherits that wait, which
    is back-pressure, not the timer's error. Where nothing waited this is lateness minus
    queue_wait_ms; NaN where the wait was not recorded (a run saved before it was)."""
    c = run.columns
    # columns without the wait (a program's own) leave it unknown, as the reader does
    wait_ms = c.get("queue_wait_ms")
    if wait_ms is None:
        wait_ms = np.full(len(c["submitted_s"]), np.nan)
    asked_s = c["submitted_s"] - np.asarray(wait_ms, dtype=float) / 1e3
    previous_s = np.concatenate(([-np.inf], c["submitted_s"][:-1]))
    return (asked_s - np.fmax(c["scheduled_s"], previous_s)) * 1e3


def pacing_stats(run, mask=None):
    """p50, p99 and max of ``pacing_ms`` (all None when it is unknown)."""
    own = pacing_ms(run)
    mask = np.ones(len(run), dtype=bool) if mask is None else mask
    d = describe(own[mask])
    return {"p50": d["median"], "p99": d["p99"], "max": d["max"]}


def device_switches(devices, submitted_s, latency_ms, undecided=("unknown",)):
    """Each point where the device of consecutive requests changes, with the medians around it.
    Requests with no device or an ``undecided`` one (between two different readings) are
    passed over: the switch is placed at the first request read on the new device."""
    devices = list(devices)
    latency_ms = np.asarray(latency_ms, dtype=float)
    found = []
    current = None
    for i, name in enumerate(devices):
        if not name or name in undecided:
            continue
        if current is not None and name != current:
            found.append({"request": i, "time_s": float(submitted_s[i]), "from": current,
                          "to": name})
        if name != current:
            current = name
    bounds = [0] + [s["request"] for s in found] + [len(devices)]
    for k, s in enumerate(found):
        before = latency_ms[bounds[k]:bounds[k + 1]]
        after = latency_ms[bounds[k + 1]:bounds[k + 2]]
        s["latency_median_before_ms"] = describe(before)["median"]
        s["latency_median_after_ms"] = describe(after)["median"]
    return found
