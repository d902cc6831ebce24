"""A Chrome trace-event file of a run (``trace.json``), for Perfetto or chrome://tracing.

One complete event per request on a track per queue slot, the wait for a free slot on a
track of its own, batch completions and device switches as instant events.
"""

import numpy as np

PID = 1
SCHEDULE_TID = 0  # the submit loop: time a request spent waiting for a free slot
BATCH_TID = 9999  # batch completions
LATE_US = 1000  # a wait shorter than this is scheduling noise, not back-pressure


def _us(seconds):
    return round(float(seconds) * 1e6, 1)


def trace_events(run):
    """The run as a list of trace events (dicts), in time order per track."""
    summary = run.summary
    title = f"{summary.get('script', 'run')} {summary.get('settings', {}).get('device', '')}"
    events = [{"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
               "args": {"name": title.strip()}},
              {"name": "thread_name", "ph": "M", "pid": PID, "tid": SCHEDULE_TID,
               "args": {"name": "waiting for a free slot"}},
              {"name": "thread_name", "ph": "M", "pid": PID, "tid": BATCH_TID,
               "args": {"name": "batches"}}]
    slots = sorted({int(s) for s in run["slot"] if s >= 0})
    for slot in slots:
        events.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": slot + 1,
                       "args": {"name": f"queue slot {slot}"}})
    done = run.done
    for i in range(len(run)):
        due, sub = run["scheduled_s"][i], run["submitted_s"][i]
        if _us(sub) - _us(due) >= LATE_US:
            events.append({"name": f"request {i} waits", "cat": "schedule", "ph": "X",
                           "ts": _us(due), "dur": _us(sub) - _us(due), "pid": PID,
                           "tid": SCHEDULE_TID, "args": {"request": i}})
        if not done[i]:
            events.append({"name": f"request {i} (never completed)", "cat": "request",
                           "ph": "i", "s": "t", "ts": _us(sub), "pid": PID,
                           "tid": int(run["slot"][i]) + 1})
            continue
        events.append({
            "name": f"request {i}", "cat": "request", "ph": "X", "ts": _us(sub),
            "dur": max(_us(run["completed_s"][i]) - _us(sub), 0.0), "pid": PID,
            "tid": int(run["slot"][i]) + 1,
            "args": {"request": i, "batch": int(run["batch"][i]), "device": run["device"][i],
                     "latency_ms": round(float(run["latency_ms"][i]), 3),
                     "lateness_ms": round(float(run["lateness_ms"][i]), 3)}})
    batch = run["batch"]
    for b in np.unique(batch[batch >= 0]):
        members = np.flatnonzero(batch == b)
        events.append({"name": f"batch {int(b)} of {members.size}", "cat": "batch", "ph": "i",
                       "s": "t", "ts": _us(np.nanmax(run["completed_s"][members])),
                       "pid": PID, "tid": BATCH_TID,
                       "args": {"requests": [int(m) for m in members]}})
    for switch in summary.get("device_switches") or []:
        events.append({"name": f"device switch {switch['from']} -> {switch['to']}",
                       "cat": "device", "ph": "i", "s": "g", "ts": _us(switch["time_s"]),
                       "pid": PID, "tid": 0, "args": switch})
    return events


def trace(run):
    return {"traceEvents": trace_events(run), "displayTimeUnit": "ms",
            "otherData": {"openvino_version": run.summary.get("openvino_version"),
                          "device": run.summary.get("settings", {}).get("device")}}
