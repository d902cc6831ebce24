"""What a run derives from its records and from what OpenVINO reported: batch labels, the
time breakdown, AUTO's switch window, device switches, statistics and the device note.

Each function takes the records (a Run) and returns new values; nothing is changed in place.
``derive`` gathers them into a ``Derived``; ``apply`` returns a new Run that carries them.
The experiment's "derived" stage and ``replot`` (for a part an older run did not save) call
the same functions.
"""

from dataclasses import dataclass, field, replace
from typing import List, Optional

import numpy as np

from ..data.parts import Batches, Breakdown, DeviceSwitch, Profile, Stats, SwitchWindow
from ..data.records import Run
from ..data.runfile import from_json, to_json
from . import analysis, breakdown, findings, labels, profiles, switch


@dataclass
class Derived:
    """Columns to add to the records and the summary's derived parts."""

    columns: dict = field(default_factory=dict)
    dropped: tuple = ()  # columns the derivation used up (the raw profile readings)
    batches: Optional[Batches] = None
    breakdown: Optional[Breakdown] = None
    device_switch_window: Optional[SwitchWindow] = None
    device_switches: List[DeviceSwitch] = field(default_factory=list)
    stats: Optional[Stats] = None
    device_note: Optional[str] = None
    profile: Optional[dict] = None
    findings: Optional[list] = None


def batch_labels(run, info):
    """``(columns, Batches)``: ``ran``, ``batch``, ``flush`` from the BATCH plugin's rules
    (labels.py) for ``info`` (the compiled model's ``batching``), and their counts."""
    s = run.summary
    done = run.done
    n = len(run)
    if not info["batching"]:
        kind = labels.UNKNOWN if info["batching"] is None else labels.SINGLE
        columns = {"ran": np.where(done, kind, "").astype(object),
                   "batch": np.full(n, -1, dtype=int), "flush": np.full(n, -1, dtype=int)}
        if kind == labels.UNKNOWN:
            return columns, Batches(text=f"batching unknown: {info['unknown']}")
        return columns, Batches(count=0, text="no batches", requests_batched=0,
                                batched_share=0.0,
                                note="no batching: the compiled model is not a BATCH one")
    start = s.queue_created_s
    if start is not None and s.queue_created_end_s is not None:
        start = (start, s.queue_created_end_s)
    found = labels.label_batches(
        run["slot"], run["submitted_s"], run["completed_s"], batch_size=info["batch_size"],
        timeout_ms=info["timeout_ms"], timer_start_s=start, nireq=s.nireq,
        infer_ms=run.columns.get("infer_ms"),
        wake_late_ms=s.wake_probe, **profile_witness(run, info))
    columns = {name: getattr(found, name)
               for name in ("ran", "batch", "flush", "launch_s", "launch_err_ms")}
    counted = dict(labels.summarize(found, info["batch_size"], info["timeout_ms"]))
    completed = int(done.sum())
    # one name per count: the plugin's words "batches" / "batched" are count /
    # requests_batched in summary.json
    counted["count"] = counted.pop("batches")
    counted["requests_batched"] = counted.pop("batched")
    counted["batched_share"] = counted["requests_batched"] / completed if completed else None
    return columns, from_json(Batches, counted)


def profile_witness(run, info):
    """Profiles as the labels' second witness, where they were read: ids kept only where
    nothing outside the request's batch worker ran before the reading, compute only where
    nothing outside the request itself did (no labels needed for either)."""
    if "profile_sum_ms" not in run.columns:
        return {}
    compute, ids, _ = profiles.attribute({k: v for k, v in run.columns.items()
                                          if k not in ("ran", "batch")}, info["batch_size"])
    return {"compute_ms": compute, "profile_id": ids}


def attributed_profiles(columns, info, block):
    """``(columns, dropped, profile block)``: the compute time of the profiles that are
    provably each request's own (profiles.py), from the raw readings, which are dropped."""
    if "profile_sum_ms" not in columns:
        return {}, (), block
    size = info["batch_size"] if info.get("batching") else 1
    compute, ids, counts = profiles.attribute(columns, size)
    merged = {**(to_json(block) if block is not None else {}), **counts}
    return ({"compute_ms": compute, "profile_id": ids}, ("profile_sum_ms", "profile_key"),
            from_json(Profile, merged))


def time_breakdown(columns):
    """``(columns, Breakdown)``: where each request's time went (breakdown.py)."""
    n = len(columns["request"])
    added = dict(breakdown.parts(columns))
    merged = {**columns, **added}
    if "compute_ms" not in merged:
        added["compute_ms"] = np.full(n, np.nan)
    if "profile_id" not in merged:
        added["profile_id"] = np.full(n, -1, dtype=int)
    return added, from_json(Breakdown, breakdown.summarize({**columns, **added}))


def switch_window(run):
    """``(SwitchWindow or None, placed)``: AUTO's move from its CPU helper to the
    accelerator (switch.py) with the number of requests in flight inside it, and each
    request's device with those named ``switch.DURING``."""
    s = run.summary
    readings = s.device_readings
    lag_ms, how = labels.allowance(run["submitted_s"], run["completed_s"],
                                   run.columns.get("infer_ms"),
                                   s.wake_probe)
    window = switch.switch_window(readings, run["submitted_s"], run["completed_s"],
                                  lag_s=lag_ms / 1e3)
    if window:
        inside = switch.during(window, run["submitted_s"], run["completed_s"])
        window.update(requests=int(inside.sum()), allowance_ms=lag_ms,
                      allowance_from="how late AUTO's release of its idle helper may come: "
                                     + how)
    placed = switch.placed(run["device"], window, run["submitted_s"], run["completed_s"],
                           readings)
    return from_json(SwitchWindow, window), placed


def run_stats(run, mask=None):
    """Stats of (part of) a run (analysis.stats), typed."""
    return from_json(Stats, analysis.stats(run, mask))


def device_switches(run):
    return from_json(List[DeviceSwitch], analysis.device_switches(
        run["device"], run["submitted_s"], run["latency_ms"], undecided=(switch.UNKNOWN,)))


def switch_note(window):
    return (f"AUTO moved from {window.from_} to {window.to} between "
            f"{window.start_s:.3f} s and {window.end_s:.3f} s: EXECUTION_DEVICES changes "
            f"only once the CPU helper is released, so the {window.requests} request(s) in "
            f"flight then ran on either and are counted as '{switch.DURING}'")


def device_part(run, window, placed, switches):
    """``(stats, device_note)``: the run's statistics, per device when AUTO switched, and
    the line saying where it ran."""
    stats = run_stats(run)
    stats.compile_s = run.summary.compile_s
    devices_seen = [d for d in dict.fromkeys(placed.tolist()) if d]
    device = run.summary.setting("device", "")
    note = None
    if switches or window:
        stats.per_device = {d: run_stats(run, placed == d) for d in devices_seen}
        note = " ; ".join(f"switch at request {s.request}: {s.from_} -> {s.to}"
                          for s in switches)
        if window:
            note = switch_note(window)
    elif device.startswith(("AUTO", "MULTI")):
        ran_on = [d for d in devices_seen if d != switch.UNKNOWN]
        note = (f"no device switch: {device} ran on {', '.join(ran_on) or '?'} "
                f"throughout")
    return stats, note


def derive(run, info):
    """Everything the run derives, from its records and ``info`` (the compiled model's
    ``batching`` as a dict): a Derived; ``run`` is left as it was."""
    if not isinstance(info, dict):
        info = to_json(info)
    label_columns, batches = batch_labels(run, info)
    columns = {**run.columns, **label_columns}
    profile_columns, dropped, profile = attributed_profiles(columns, info, run.summary.profile)
    columns = {k: v for k, v in {**columns, **profile_columns}.items() if k not in dropped}
    breakdown_columns, block = time_breakdown(columns)
    labelled = Run({**columns, **breakdown_columns}, run.summary, run.utilization)
    window, placed = switch_window(labelled)
    switches = device_switches(labelled)
    stats, note = device_part(labelled, window, placed, switches)
    d = Derived({**label_columns, **profile_columns, **breakdown_columns}, dropped, batches,
                block, window, switches, stats, note, profile)
    d.findings = findings.find(apply(run, d))
    return d


def apply(run, derived):
    """A new Run: ``run``'s records with the derived columns, its summary with the derived
    parts."""
    summary = replace(run.summary, batches=derived.batches, breakdown=derived.breakdown,
                      profile=derived.profile, findings=derived.findings,
                      device_switch_window=derived.device_switch_window,
                      device_switches=derived.device_switches,
                      device_switch=derived.device_switches[0] if derived.device_switches
                      else None,
                      stats=derived.stats, device_note=derived.device_note)
    columns = {k: v for k, v in run.columns.items() if k not in derived.dropped}
    return Run({**columns, **derived.columns}, summary, run.utilization)


def fill_missing(run):
    """A saved run with the derived parts it did not save (an older version's) computed
    from its records by the same functions; the labels are never redone, since the
    timer readings they need were not saved either."""
    s = run.summary
    changes = {}
    if s.stats is None:
        window = s.device_switch_window
        placed = switch.placed(run["device"], to_json(window) if window else None,
                               run["submitted_s"], run["completed_s"], s.device_readings)
        changes["stats"], note = device_part(run, window, placed, s.device_switches or [])
        if s.device_note is None:
            changes["device_note"] = note
    if s.device_switches is None:
        changes["device_switches"] = device_switches(run)
    if not changes:
        return run
    return Run(run.columns, replace(s, **changes), run.utilization)
