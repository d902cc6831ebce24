"""The checks of the queue, the rate, the device, the client and the machine (see
``findings``): back-pressure, overload, queueing inside the device, the client's pacing and
other programs taking the CPU."""

import numpy as np

from . import analysis
from .findings_base import (Finding, Skip, exact_ran, fmt, in_flight_at_submit,
                            median as _median, request_ranges, summary_get)

# --- thresholds (the README's Findings section gives the reason of each)
BACK_PRESSURE_SHARE = 0.05  # of the submitted requests that waited > QUEUE_WAIT_MS for a slot
BACK_PRESSURE_MS = 1.0  # a wait shorter than this is the call's own cost (records.QUEUE_WAIT_MS)
OVERLOAD_SLOPE = 0.02  # delay growth per second of schedule: below 98 % of the offered rate
OVERLOAD_GROWTH_MS = 20.0  # and the fitted delay grew by at least this much over the run
DEVICE_QUEUE_RATIO = 1.5  # median device time against one inference
PACING_P99_MS = 2.0  # the submit thread's own delay, p99
SPIKE_RATIO = 2.0  # a request slower than this times the median latency is a spike
SPIKE_MIN_MS = 2.0  # and slower than the median by at least this much
OTHERS_PCT = 25.0  # other programs' CPU use (cpu - process), points of all cores
SLOPE_PAIRS = 20000  # pairs drawn for the delay's trend in a long run


def check_back_pressure(ctx):
    """Requests waited for a free queue slot."""
    run = ctx.run
    if "queue_wait_ms" not in run.columns or not np.isfinite(run["queue_wait_ms"]).any():
        return Skip("queue_wait_ms was not recorded (a run saved before it existed)")
    wait = run["queue_wait_ms"]
    waited = wait > BACK_PRESSURE_MS
    k = int(waited.sum())
    if k < 2 or k < BACK_PRESSURE_SHARE * ctx.n:
        return None
    nireq = int(summary_get(run.summary, "nireq") or 0)
    want = _concurrency_wanted(run, ctx.response_ms)
    overload = ctx.overload()
    text = (f"{k} of {ctx.n} requests waited for a free queue slot (queue_wait_ms median "
            f"{fmt(_median(wait[waited]))}, max {fmt(float(np.nanmax(wait)))}, in all "
            f"{fmt(float(np.nansum(wait[waited])))} ms) with a queue of {nireq}")
    if overload.get("overloaded"):
        text += "; the device fell behind the schedule (see 'overload'): it had no room"
        rate = overload.get("sustained_per_s")
        fix = (f"--interval={fmt(1e3 / (0.9 * rate), 1)} (a larger queue would only move the "
               f"wait into the device)" if rate else "send requests more slowly (a larger "
               "queue would only move the wait into the device)")
    else:
        bigger = max(nireq + 1, want or 0, 2 * nireq)
        text += ("; the delay from due to completed did not grow through the run, so the "
                 "device had room")
        fix = f"--nireq={bigger}"
        if want:
            fix += (f" (up to {want} requests were due within one median response time of "
                    f"each other)")
    return Finding(
        "back_pressure", "warn", "back-pressure: requests waited for a free queue slot",
        text, fix, request_ranges(np.flatnonzero(waited)),
        {"waited": k, "requests": ctx.n, "nireq": nireq,
         "queue_wait_median_ms": _median(wait[waited]), "queue_wait_max_ms": float(np.nanmax(wait)),
         "queue_wait_total_ms": float(np.nansum(wait[waited])), "concurrency_due": want},
        impact_ms=float(np.nansum(wait[waited])))


def check_overload(ctx):
    """Requests are due faster than the device completes them: the delay grows."""
    t = ctx.overload()
    if t.get("skip"):
        return Skip(t["skip"])
    if not t.get("overloaded"):
        return None
    run = ctx.run
    if t.get("flood"):
        text = (f"all {t['count']} requests were due at once; they completed over "
                f"{fmt(t['span_s'], 2)} s: the device sustained {fmt(t['sustained_per_s'])}/s")
        return Finding(
            "overload", "info", "a flood: every request was due at the start", text,
            f"--interval={fmt(1e3 / t['sustained_per_s'] * 1.1, 2)} (paced just under the "
            f"rate it sustained)", request_ranges(np.flatnonzero(ctx.done)), t,
            impact_ms=t["impact_ms"])
    text = (f"requests were due at {fmt(t['offered_per_s'])}/s; the delay from due to "
            f"completed grew from {fmt(t['first_ms'])} ms (first tenth) to "
            f"{fmt(t['last_ms'])} ms (last tenth), {fmt(t['slope'], 2)} ms per ms of the "
            f"schedule: the device sustained about {fmt(t['sustained_per_s'])}/s")
    interval = 1e3 / (0.9 * t["sustained_per_s"]) if t["sustained_per_s"] else None
    pattern = summary_get(run.summary, "settings", "arrival") or "fixed"
    if interval and not _is_replay(pattern):
        fix = f"--interval={fmt(interval, 1)} (90 % of the rate it sustained)"
    else:
        fix = "send fewer requests a second than the device sustains"
    return Finding("overload", "warn", "overload: requests are due faster than the device "
                   "completes them", text, fix, request_ranges(np.flatnonzero(t["growing"])),
                   {k: v for k, v in t.items() if k != "growing"}, impact_ms=t["impact_ms"])


def check_device_queueing(ctx):
    """More requests in flight than the device runs at once, and device time well above one
    inference: requests queue inside the device."""
    run = ctx.run
    summary = run.summary
    streams = summary_get(summary, "num_streams")
    if streams is None:
        return Skip("NUM_STREAMS is unknown: the compiled model did not report it (AUTO and "
                    "MULTI do not), or the run was saved before it was recorded")
    size = int(ctx.batching.get("batch_size") or 1) if ctx.batching.get("batching") else 1
    capacity = _capacity(run, ctx.batching)
    device = device_ms(run)
    if device is None:
        return Skip("device time is unknown: the requests' batch waits are not known "
                    "(the breakdown columns are missing and the run batches)")
    keep = ctx.done & ~np.isnan(device)
    if not keep.any() and ctx.done.any():
        return Skip("device time is unknown for every request (batched requests without "
                    "the launch times of their batches)")
    if keep.sum() < 4:
        return None
    flight = in_flight_at_submit(run)
    crowded = keep & (flight > capacity)
    if crowded.sum() < 0.5 * keep.sum():
        return None
    # one inference: the tighter of two upper bounds, the median measured compute (which
    # counts time other programs took) and the device time of the quickest tenth
    one, one_from = float(np.nanpercentile(device[keep], 10)), "device time p10"
    compute = run.columns.get("compute_ms")
    if compute is not None and np.isfinite(compute[keep]).sum() >= 4:
        if _median(compute[keep]) < one:
            one, one_from = _median(compute[keep]), "compute_ms median"
    med = _median(device[keep])
    if not one or med < DEVICE_QUEUE_RATIO * one:
        return None
    threads = summary_get(summary, "inference_num_threads")
    text = (f"median {fmt(float(np.median(flight[keep])), 0)} requests in flight at a submit "
            f"against {streams} stream(s) x batch {size} = {capacity} the device runs at once"
            f"{f' ({threads} inference threads)' if threads else ''}; device time median "
            f"{fmt(med)} ms against one inference's {fmt(one)} ms ({one_from})")
    hint = str(summary_get(summary, "properties", "PERFORMANCE_HINT") or "")
    fix = ("--PERFORMANCE_HINT=THROUGHPUT (more streams) or " if hint.upper() != "THROUGHPUT"
           else "")
    fix += (f"--nireq={capacity} (the wait then shows in the queue, as back-pressure) or "
            f"send requests more slowly")
    affected = crowded & (device > DEVICE_QUEUE_RATIO * one)
    return Finding(
        "device_queueing", "warn", "queueing inside the device: more requests in flight "
        "than it runs at once", text, fix, request_ranges(np.flatnonzero(affected)),
        {"num_streams": streams, "inference_num_threads": threads, "batch_size": size,
         "capacity": capacity, "in_flight_median": float(np.median(flight[keep])),
         "device_median_ms": med, "one_inference_ms": one, "one_inference_from": one_from},
        impact_ms=float(np.nansum(device[affected] - one)))


def check_pacing(ctx):
    """The submit thread fell behind its own schedule, and why, where the run tells."""
    run = ctx.run
    own = analysis.pacing_ms(run)
    if own is None or not np.isfinite(own).any():
        return Skip("queue_wait_ms was not recorded: the submit thread's own delay cannot "
                    "be told from waits for a slot")
    p99 = float(np.nanpercentile(own, 99)) if np.isfinite(own).any() else None
    if p99 is None or p99 <= PACING_P99_MS:
        return None
    late = own > 1.0
    if late.sum() < max(2, 0.01 * ctx.n):
        return None
    why = []
    priority = summary_get(run.summary, "submit_thread_priority")
    due = run["scheduled_s"]
    flood = bool(np.nanmax(due) <= np.nanmin(due)) if np.isfinite(due).any() else False
    if priority == "default" and flood:
        why.append("every request was due at once, and the submit thread asks for real-time "
                   "priority only when requests are paced")
    elif priority == "default":
        why.append("the submit thread had no real-time priority (it needs root, "
                   "CAP_SYS_NICE or an rtprio limit: ulimit -r)")
    others = _others_mean(run)
    if others is not None and others >= OTHERS_PCT:
        why.append(f"the machine was busy: other programs used {fmt(others, 0)} % of its "
                   f"CPUs on average")
    text = (f"the submit thread's own delay (pacing) p99 {fmt(p99)} ms, max "
            f"{fmt(float(np.nanmax(own)))} ms; {int(late.sum())} of {ctx.n} requests were "
            f"submitted more than 1 ms after they could have been")
    if why:
        text += "; why: " + "; ".join(why)
    else:
        known = [f"the thread had real-time priority ({priority})" if priority else
                 "the thread's priority was not recorded",
                 f"other programs used {fmt(others, 0)} % of the CPUs" if others is not None
                 else "no utilization samples"]
        text += "; why: unknown (" + ", ".join(known) + ")"
    fixes = []
    if priority == "default" and not flood:
        fixes.append("allow real-time priority (ulimit -r 1, or CAP_SYS_NICE)")
    fixes.append("run on a quiet machine")
    return Finding("pacing", "warn", "the client fell behind its own schedule", text,
                   "; ".join(fixes), request_ranges(np.flatnonzero(late)),
                   {"pacing_p99_ms": p99, "pacing_max_ms": float(np.nanmax(own)),
                    "late": int(late.sum()), "priority": priority, "others_pct": others},
                   impact_ms=float(np.nansum(own[late])))


def check_other_programs(ctx):
    """Latency spikes while the machine's CPU use is far above this process's."""
    run = ctx.run
    series = _cpu_series(run)
    if series is None:
        return Skip("no utilization samples of both 'cpu' and 'process' (utilization.csv "
                    "missing, or --util_ms=0)")
    lat, what = _own_time_ms(run)
    if lat is None:
        return Skip("every request's latency holds a batch wait of unknown length (no "
                    "device_ms column): spikes cannot be told from waits for a batch")
    keep = ctx.done & np.isfinite(lat)
    if keep.sum() < 4:
        return None
    keep[:1] = False  # the first request carries the first inference's own cost
    # only requests that found the device free: a wait for a stream is queueing, not others
    keep &= in_flight_at_submit(run) <= _capacity(run, ctx.batching)
    if keep.sum() < 4:
        return None
    med = float(np.median(lat[keep]))
    spikes = keep & (lat > SPIKE_RATIO * med) & (lat - med >= SPIKE_MIN_MS)
    if not spikes.any():
        return None
    others = _others_during(run, series)
    busy = spikes & (others >= OTHERS_PCT)
    if not busy.any():
        return None
    rest = keep & ~spikes & np.isfinite(others)
    cpu_mean, proc_mean = _during_sources(run, series, busy)
    text = (f"of the requests that found the device free, "
            f"{_count(int(spikes.sum()), 'request')} took more than {SPIKE_RATIO:g} x their median "
            f"{what} ({fmt(med)} ms); during {int(busy.sum())} of them other programs used "
            f"{fmt(float(np.nanmean(others[busy])), 0)} % of the machine's CPUs (cpu "
            f"{fmt(cpu_mean, 0)} % against this process's {fmt(proc_mean, 0)} %)")
    if rest.any():
        text += f", against {fmt(float(np.nanmean(others[rest])), 0)} % during the other requests"
    return Finding(
        "other_programs", "warn", "other programs took the CPU", text,
        "run again on a quiet machine and compare the two runs (python -m ovsched compare)",
        request_ranges(np.flatnonzero(busy)),
        {"spikes": int(spikes.sum()), "busy_spikes": int(busy.sum()), "latency_median_ms": med,
         "others_during_pct": float(np.nanmean(others[busy])),
         "others_rest_pct": float(np.nanmean(others[rest])) if rest.any() else None,
         "cpu_pct": cpu_mean, "process_pct": proc_mean},
        impact_ms=float(np.nansum(lat[busy] - med)))


def device_ms(run):
    """Time in the device per request (ms), NaN where unknown; None when it cannot be known
    for any request: the ``device_ms`` column where the run has it; else OpenVINO's own
    time (``infer_ms``) where nothing batched, since then there is no batch wait in it."""
    if "device_ms" in run.columns:
        return np.asarray(run["device_ms"], dtype=float)
    if "infer_ms" not in run.columns:
        return None
    ran = exact_ran(run)
    batching = summary_get(run.summary, "batching") or {}
    if batching.get("batching") is False:
        return np.asarray(run["infer_ms"], dtype=float)
    if ran is None:
        return None
    out = np.asarray(run["infer_ms"], dtype=float).copy()
    out[ran != "single"] = np.nan
    return out if np.isfinite(out).any() else None


def trend(run, response):
    """Is the delay from due to completed growing through the run? The median of the slopes
    between pairs of requests (robust to a tail of timeouts and to single spikes), as the
    sweep judges whether a cell keeps up."""
    done = np.isfinite(response)
    due = run["scheduled_s"]
    count = int(done.sum())
    if count < 4:
        return {"skip": "fewer than 4 completed requests"}
    d, r = due[done], response[done] / 1e3
    span = float(d[-1] - d[0])
    if span <= 0:
        comp = run["completed_s"][done]
        span_s = float(comp.max() - comp.min())
        sustained = (count - 1) / span_s if span_s > 0 else None
        if sustained is None:
            return {"overloaded": False}
        return {"overloaded": True, "flood": True, "count": count, "span_s": span_s,
                "sustained_per_s": sustained,
                "impact_ms": float(np.sum(response[done] - np.min(response[done])))}
    rng = np.random.default_rng(0)
    if count * (count - 1) // 2 > SLOPE_PAIRS:
        a, b = rng.integers(0, count, SLOPE_PAIRS), rng.integers(0, count, SLOPE_PAIRS)
    else:
        a, b = np.triu_indices(count, 1)
    ok = d[a] != d[b]
    slopes = (r[b[ok]] - r[a[ok]]) / (d[b[ok]] - d[a[ok]])
    if not slopes.size:
        return {"overloaded": False}
    slope = float(np.median(slopes))
    offered = (count - 1) / span
    growth_ms = slope * span * 1e3
    idle_s = _last_idle_s(run)
    # a queue that drains (every request due so far completed) in the second half of the
    # schedule does not grow: a slope there comes from noise between bursts, not a backlog
    drained = idle_s is not None and idle_s >= d[0] + span / 2
    overloaded = slope > OVERLOAD_SLOPE and growth_ms >= OVERLOAD_GROWTH_MS and not drained
    grown = (d - d[0]) * slope * 1e3
    growing = np.zeros(len(run), dtype=bool)
    idx = np.flatnonzero(done)
    growing[idx[grown >= OVERLOAD_GROWTH_MS]] = True
    return {"overloaded": overloaded, "flood": False, "slope": slope,
            "offered_per_s": offered, "sustained_per_s": offered / (1 + slope),
            "first_ms": float(np.median(response[done][: max(1, count // 10)])),
            "last_ms": float(np.median(response[done][-max(1, count // 10):])),
            "growth_ms": growth_ms, "growing": growing,
            "impact_ms": float(np.sum(np.clip(grown, 0, None)))}


def _last_idle_s(run):
    """The last due time at which every request due before it had completed (the device
    and the queue were empty), or None when that never happened after the first."""
    due = np.asarray(run["scheduled_s"], dtype=float)
    done = np.asarray(run["completed_s"], dtype=float)
    order = np.argsort(due, kind="stable")
    due, done = due[order], np.where(np.isnan(done[order]), np.inf, done[order])
    reach = np.maximum.accumulate(done)[:-1]
    idle = np.flatnonzero(reach <= due[1:])
    return float(due[1:][idle[-1]]) if idle.size else None


def _concurrency_wanted(run, response):
    """The most requests due within one median response time of each other: how many the
    schedule asks to have in flight at once."""
    due = run["scheduled_s"]
    med = np.nanmedian(response) / 1e3 if np.isfinite(response).any() else None
    if med is None or not np.isfinite(med):
        return None
    due = due[np.isfinite(due)]
    counts = np.searchsorted(due, due + med, side="right") - np.arange(due.size)
    return int(counts.max()) if counts.size else None


def _own_time_ms(run):
    """Per request, a time that a batch's wait does not inflate, and its name: the device
    time where the run has it, else the latency of requests that ran without batching (NaN
    for the others); (None, "") when no request has one."""
    if "device_ms" in run.columns:
        return np.asarray(run["device_ms"], dtype=float), "device time"
    lat = np.asarray(run["latency_ms"], dtype=float).copy()
    batching = summary_get(run.summary, "batching") or {}
    if batching.get("batching") is False:
        return lat, "latency"
    ran = exact_ran(run)
    if ran is None:
        return None, ""
    lat[ran != "single"] = np.nan
    return (lat, "latency") if np.isfinite(lat).any() else (None, "")


def _cpu_series(run):
    u = run.utilization
    if not u or not u.get("time_s"):
        return None
    t = np.asarray(u["time_s"], dtype=float)
    src = np.asarray(u["source"], dtype=object)
    val = np.asarray(u["value"], dtype=float)
    if not (src == "cpu").any() or not (src == "process").any():
        return None
    cpu_t, cpu_v = t[src == "cpu"], val[src == "cpu"]
    proc_t, proc_v = t[src == "process"], val[src == "process"]
    period = summary_get(run.summary, "utilization", "period_ms")
    if not period:
        period = float(np.median(np.diff(cpu_t))) * 1e3 if cpu_t.size > 1 else 100.0
    # the two sources are read together: pair them by time
    proc_at = np.interp(cpu_t, proc_t, proc_v) if proc_t.size > 1 else np.full_like(cpu_v,
                                                                                     proc_v[0])
    return {"t": cpu_t, "cpu": cpu_v, "process": proc_at, "period_s": period / 1e3}


def _overlap(run, series):
    """For each request, the mask of samples whose period overlaps its time in flight."""
    start = series["t"] - series["period_s"]
    sub, comp = run["submitted_s"], run["completed_s"]
    for i in range(len(run)):
        if not np.isfinite(comp[i]):
            yield i, None
            continue
        yield i, (start < comp[i]) & (series["t"] > sub[i])


def _others_during(run, series):
    others = np.full(len(run), np.nan)
    diff = series["cpu"] - series["process"]
    for i, mask in _overlap(run, series):
        if mask is not None and mask.any():
            others[i] = float(diff[mask].mean())
    return others


def _during_sources(run, series, which):
    cpu, proc = [], []
    for i, mask in _overlap(run, series):
        if which[i] and mask is not None and mask.any():
            cpu.append(series["cpu"][mask].mean())
            proc.append(series["process"][mask].mean())
    return (float(np.mean(cpu)) if cpu else None, float(np.mean(proc)) if proc else None)


def _others_mean(run):
    series = _cpu_series(run)
    if series is None:
        return None
    keep = series["t"] >= 0
    if not keep.any():
        return None
    return float(np.mean(series["cpu"][keep] - series["process"][keep]))


def _capacity(run, batching):
    """How many requests the device runs at once (streams x batch); 1 when the streams are
    unknown, the one count that never takes a queued request for a free one."""
    streams = summary_get(run.summary, "num_streams")
    size = int(batching.get("batch_size") or 1) if batching.get("batching") else 1
    return int(streams) * size if streams else 1


def _count(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _is_replay(pattern):
    return pattern not in ("fixed", "poisson", "burst")


