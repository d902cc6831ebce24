"""A Chrome trace-event file of a run (``trace.json``), for Perfetto or chrome://tracing.

One complete event per request on a track per queue slot, with its parts nested inside it
(batch wait, device, callback: derive/breakdown.py; client and queue wait come before the
submit, so they are the request's arguments, and so is compute, which has no start time);
the wait for a free slot on a track of its own; each batched inference as an instant on a
"batches" track (at its last completion), each timeout flush on a "timeout flushes" track (at
its first completion: the timer expired before, after the flush's last submit); AUTO's
switch window as a slice and device switches as instant events; each utilization source as a
counter track (samples from the run's start on: compiling, before it, is only in
``utilization.csv``).
"""

from ..data.runfile import to_json

from ..derive import breakdown

PID = 1
SCHEDULE_TID = 0  # the submit loop: time a request spent waiting for a free slot
BATCH_TID = 9999  # batch completions
FLUSH_TID = 9998  # timeout flushes
SWITCH_TID = 9997  # AUTO's switch window


def _us(seconds):
    return round(float(seconds) * 1e6, 1)


def iter_trace_events(run):
    """The run's trace events (dicts), one at a time, in time order per track: a long run's
    trace is written as it is made, never held whole."""
    summary = run.summary
    title = f"{summary.script or 'run'} {summary.setting('device', '')}"
    yield {"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
           "args": {"name": title.strip()}}
    for tid, name in ((SCHEDULE_TID, "waiting for a free slot"), (BATCH_TID, "batches"),
                      (FLUSH_TID, "timeout flushes")):
        yield {"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": name}}
    for slot in sorted({int(s) for s in run["slot"] if s >= 0}):
        yield {"name": "thread_name", "ph": "M", "pid": PID, "tid": slot + 1,
               "args": {"name": f"queue slot {slot}"}}
    # plain Python lists: per-element numpy access costs more than the events themselves
    due_us = [round(t * 1e6, 1) for t in run["scheduled_s"].tolist()]
    sub_us = [round(t * 1e6, 1) for t in run["submitted_s"].tolist()]
    done_us = [None if t != t else round(t * 1e6, 1) for t in run["completed_s"].tolist()]
    slots = run["slot"].tolist()
    batches = run["batch"].tolist()
    ran = run["ran"].tolist()
    flushes = run["flush"].tolist()
    devices = run["device"].tolist()
    latency = [round(v, 3) for v in run["latency_ms"].tolist()]
    lateness = [round(v, 3) for v in run["lateness_ms"].tolist()]
    waited = run.waited_for_slot.tolist()
    parts = breakdown.parts(run.columns)
    split = {k: parts[k].tolist() for k in ("batch_wait_ms", "device_ms", "callback_ms")}
    args_of = {k: [None if v != v else round(v, 3) for v in parts[k].tolist()]
               for k in breakdown.PARTS}
    infer = run["infer_ms"].tolist()
    compute = (run["compute_ms"].tolist() if "compute_ms" in run.columns
               else [float("nan")] * len(run))
    for i, (due, sub, end) in enumerate(zip(due_us, sub_us, done_us)):
        if waited[i]:
            yield {"name": f"request {i} waits", "cat": "schedule", "ph": "X",
                   "ts": due, "dur": round(sub - due, 1), "pid": PID,
                   "tid": SCHEDULE_TID, "args": {"request": i}}
        if end is None:
            yield {"name": f"request {i} (never completed)", "cat": "request",
                   "ph": "i", "s": "t", "ts": sub, "pid": PID, "tid": slots[i] + 1}
            continue
        yield {
            "name": f"request {i}", "cat": "request", "ph": "X", "ts": sub,
            "dur": max(round(end - sub, 1), 0.0), "pid": PID, "tid": slots[i] + 1,
            "args": {"request": i, "ran": ran[i], "batch": batches[i], "flush": flushes[i],
                     "device": devices[i], "latency_ms": latency[i],
                     "lateness_ms": lateness[i],
                     **{k: v[i] for k, v in args_of.items()},
                     "compute_ms": None if compute[i] != compute[i] else round(compute[i], 3)}}
        yield from part_events(i, sub, end, slots[i] + 1, infer[i],
                               {k: v[i] for k, v in split.items()})
    yield from group_events(batches, ran, "batched", sub_us, done_us, slots)
    yield from group_events(flushes, ran, "timeout", sub_us, done_us, slots)
    yield from window_events(summary.device_switch_window)
    for switch in summary.device_switches or []:
        yield {"name": f"device switch {switch.from_} -> {switch.to}",
               "cat": "device", "ph": "i", "s": "g", "ts": _us(switch.time_s),
               "pid": PID, "tid": 0, "args": to_json(switch)}
    yield from counter_events(run)


def trace_events(run):
    """The run as a list of trace events (dicts), in time order per track."""
    return list(iter_trace_events(run))


def part_events(i, sub_us, end_us, tid, infer_ms, part_ms):
    """The request's time in OpenVINO as slices nested in its own: batch wait, device and
    callback (or the whole inference, where batching cannot be split), end to end."""
    if infer_ms != infer_ms:
        return []
    if part_ms["batch_wait_ms"] == part_ms["batch_wait_ms"]:
        pieces = [("batch wait", part_ms["batch_wait_ms"]), ("device", part_ms["device_ms"])]
    else:
        pieces = [("inference (batch wait + device, not split)", infer_ms)]
    pieces.append(("callback", part_ms["callback_ms"]))
    events, at = [], sub_us
    for name, ms in pieces:
        if ms != ms:
            break
        # rounded to the parent's 0.1 us grid and kept inside it: a child never overflows
        start = min(at, end_us)
        stop = min(max(round(at + ms * 1e3, 1), start), end_us)
        if name == "callback":
            stop = end_us
        events.append({"name": name, "cat": "part", "ph": "X", "ts": start,
                       "dur": round(stop - start, 1), "pid": PID, "tid": tid,
                       "args": {"request": i, "ms": round(ms, 3)}})
        at = stop
    return events


def counter_events(run):
    """One counter event ("ph": "C") per utilization sample that ends after the run's start;
    Perfetto draws a track per source (value in %, ``rss_mb`` in MB). A sample is the average
    over the period before its time, and a counter holds its value until the next event, so
    each event is placed where its period began (the previous sample of its source)."""
    samples = run.utilization
    if not samples:
        return []
    block = run.summary.utilization
    period_s = ((block.period_ms if block else None) or 0) / 1e3
    began = {}
    events = []
    for t, source, value in zip(samples["time_s"], samples["source"], samples["value"]):
        start = began.get(source, t - period_s)
        began[source] = t
        if t <= 0:
            continue
        unit = "MB" if source.endswith("_mb") else "%"
        events.append({"name": f"utilization {source}", "cat": "utilization", "ph": "C",
                       "ts": _us(max(start, 0.0)), "pid": PID,
                       "args": {unit: round(float(value), 2)}})
    return events


def group_events(ids, ran, kind, sub_us, done_us, slots):
    """One instant per batch (``kind`` "batched") or per timeout flush ("timeout")."""
    members = {}
    for i, g in enumerate(ids):
        if g >= 0 and ran[i] in (kind, ""):  # "": saved before labels, batch ids only
            members.setdefault(g, []).append(i)
    events = []
    for g, req in sorted(members.items()):
        args = {"requests": req, "slots": [slots[i] for i in req],
                "last_submit_us": max(sub_us[i] for i in req)}
        if kind == "batched":
            events.append({"name": f"batch {g} of {len(req)}", "cat": "batch", "ph": "i",
                           "s": "t", "ts": max(done_us[i] for i in req), "pid": PID,
                           "tid": BATCH_TID, "args": args})
        else:
            events.append({"name": f"flush {g}: {len(req)} ran alone after the timeout",
                           "cat": "flush", "ph": "i", "s": "t",
                           "ts": min(done_us[i] for i in req), "pid": PID, "tid": FLUSH_TID,
                           "args": args})
    return events


def window_events(window):
    if not window:
        return []
    return [{"name": "thread_name", "ph": "M", "pid": PID, "tid": SWITCH_TID,
             "args": {"name": "AUTO switch"}},
            {"name": f"switching {window.from_} -> {window.to} (device unknown)",
             "cat": "device", "ph": "X", "ts": max(_us(window.start_s), 0.0),
             "dur": max(_us(window.end_s) - max(_us(window.start_s), 0.0), 0.0),
             "pid": PID,
             "tid": SWITCH_TID, "args": to_json(window)}]


def trace(run, stream=False):
    """The trace-event dict; with ``stream``, its ``traceEvents`` is an iterator, made as
    ``runfile.write_trace`` writes it."""
    events = iter_trace_events(run) if stream else trace_events(run)
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"openvino_version": run.summary.openvino_version,
                          "device": run.summary.setting("device")}}
