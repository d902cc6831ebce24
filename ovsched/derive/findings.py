"""What went wrong in a run and what to try: ranked findings, computed from the records and
the summary alone (a saved run gives the same findings as the live one).

A finding is data: ``id``, ``severity`` (``warn`` or ``info``), ``title``, ``evidence`` (this
run's numbers, as text, with the numbers themselves in ``values``), ``fix`` (settings to try,
as ``--key=value`` words where there is one), ``requests`` (the requests it concerns, as
ranges: ``"0-3, 8"``) and ``impact_ms`` (the milliseconds of this run it accounts for, each
finding saying which; None where no time can be put on it). The terminal, the final figure
and ``python -m ovsched explain`` print the same objects.

Each check returns a Finding, None (checked, nothing found), or a ``Skip`` that says why the
run's data cannot decide; it never guesses. The thresholds and their reasons are in the
README's *Findings* section. The batching checks are here, those of the queue, the rate,
the device, the client and the machine in ``findings_load``, AUTO's in ``findings_auto``.
"""

from dataclasses import dataclass, field

import numpy as np

from . import findings_auto
from .findings_base import (Finding, Skip, exact_ran, fmt, median as _median,
                            request_ranges, response_ms, summary_get)
from .findings_load import (check_back_pressure, check_device_queueing, check_other_programs,
                            check_overload, check_pacing, trend)
from .labels import starved_slots

# --- thresholds (the README's Findings section gives the reason of each)
TIMER_SHARE = 0.5  # of the labelled requests outside starved slots that ran alone at the timer
TIMER_FRACTION = 0.25  # of the mean gap between requests: the timeout to suggest


def check_all(run):
    """Every check of the catalogue on ``run``: [(id, Finding | Skip | None)]."""
    ctx = _Context(run)
    out = [(name, check(ctx)) for name, check in CHECKS]
    return out + findings_auto.check_all(run)


def find(run):
    """The run's findings, ranked (see ``rank``)."""
    found = []
    for _, result in check_all(run):
        if isinstance(result, Finding):
            found.append(result)
        elif isinstance(result, list):
            found.extend(result)
    return rank(found)


def rank(found):
    """Warnings before notes; within each, the larger ``impact_ms`` first (unknown last)."""
    return sorted(found, key=lambda f: (f.severity != "warn",
                                        -(f.impact_ms if f.impact_ms is not None else -1.0)))


def as_dicts(found):
    return [f.to_dict() for f in found]


@dataclass
class _Context:
    """What several checks need, computed once."""

    run: object
    done: np.ndarray = field(init=False)
    response_ms: np.ndarray = field(init=False)
    batching: dict = field(init=False)

    def __post_init__(self):
        run = self.run
        self.done = run.done
        self.response_ms = response_ms(run)
        self.batching = summary_get(run.summary, "batching") or {}
        self._overload = None

    @property
    def n(self):
        return len(self.run)

    def ran(self):
        return exact_ran(self.run)

    def overload(self):
        if self._overload is None:
            self._overload = trend(self.run, self.response_ms)
        return self._overload


# --------------------------------------------------------------- batching

def check_starved(ctx):
    """Slots whose worker can never fill a batch, and what they cost in this run."""
    b = ctx.batching
    if b.get("batching") is None:
        return Skip("batching unknown: " + str(b.get("unknown") or "no batching read-back"))
    if not b.get("batching"):
        return None
    nireq = summary_get(ctx.run.summary, "nireq")
    size = b.get("batch_size")
    if not nireq or not size:
        return Skip("the queue size or batch size was not recorded")
    slots, _ = starved_slots(int(nireq), int(size))
    if not slots:
        return None
    ran = ctx.ran()
    if ran is None:
        return Skip("this run has no batch labels (saved before they existed)")
    slot = ctx.run["slot"]
    in_starved = np.isin(slot, slots) & ctx.done
    if not in_starved.any():
        return None
    alone = in_starved & (ran == "timeout")
    timeout_all = ctx.done & (ran == "timeout")
    batched = ctx.done & (ran == "batched")
    lat = ctx.run["latency_ms"]
    fix_nireq = (int(nireq) // int(size) + 1) * int(size)
    text = (f"slots {request_ranges(slots)} of {nireq} can never fill a batch of {size}: "
            f"{int(in_starved.sum())} requests ran there, {int(alone.sum())} of them alone "
            f"after the {fmt(b.get('timeout_ms'))} ms timer (latency median "
            f"{fmt(_median(lat[alone]))} ms")
    if batched.any():
        text += f" against {fmt(_median(lat[batched]))} ms for requests that ran batched"
    text += (f"); in all {int(timeout_all.sum())} of {int(ctx.done.sum())} completed requests "
             f"ran alone after the timer")
    return Finding(
        "starved_workers", "warn", f"starved batch workers: nireq {nireq} is not a "
        f"multiple of the batch {size}", text,
        f"--nireq={fix_nireq}" + (f" (or --nireq={int(size)})" if int(nireq) > int(size) else ""),
        request_ranges(np.flatnonzero(in_starved)),
        {"slots": slots, "requests": int(in_starved.sum()), "alone": int(alone.sum()),
         "timeout_total": int(timeout_all.sum()),
         "latency_median_alone_ms": _median(lat[alone]),
         "latency_median_batched_ms": _median(lat[batched])},
        impact_ms=float(np.nansum(lat[alone])))


def check_timer(ctx):
    """Batches cannot fill at this rate: most requests wait for the timer and run alone."""
    b = ctx.batching
    if not b.get("batching"):
        return None
    ran = ctx.ran()
    if ran is None:
        return Skip("this run has no batch labels (saved before they existed)")
    nireq = int(summary_get(ctx.run.summary, "nireq") or 0)
    size, timeout = int(b["batch_size"]), b.get("timeout_ms")
    starved, _ = starved_slots(nireq, size) if nireq else ([], "")
    outside = ctx.done & ~np.isin(ctx.run["slot"], starved)
    labelled = outside & np.isin(ran, ("batched", "timeout"))
    alone = outside & (ran == "timeout")
    if not labelled.any() or alone.sum() < TIMER_SHARE * labelled.sum():
        return None
    interval = mean_interval_ms(ctx.run)
    lat = ctx.run["latency_ms"]
    wait = ctx.run.columns.get("batch_wait_ms")
    infer = _median(wait[alone]) if wait is not None else None
    fill = nireq * interval if interval is not None and nireq else None
    text = (f"{int(alone.sum())} of {int(labelled.sum())} requests ran alone after the "
            f"{fmt(timeout)} ms timer (latency median {fmt(_median(lat[alone]))} ms")
    if infer is not None:
        text += f", of which waiting for the timer (batch_wait_ms) median {fmt(infer)} ms"
    text += ")"
    if fill is not None:
        text += (f"; each worker gets {size} of the queue's {nireq} slots, so a batch of "
                 f"{size} fills in about nireq x interval = {nireq} x {fmt(interval)} = "
                 f"{fmt(fill)} ms against the {fmt(timeout)} ms timeout")
    fixes = []
    lower = max(1, int(round(interval * TIMER_FRACTION))) if interval else None
    # a timer already this short next to the gap between requests costs each request little:
    # batching is then merely useless here, no longer the larger part of the response time
    costly = lower is None or timeout is None or lower < timeout
    if lower is not None and timeout is not None and lower < timeout:
        fixes.append(f"--AUTO_BATCH_TIMEOUT={lower}")
    if interval and nireq > size and size * interval < (timeout or 0):
        fixes.append(f"--nireq={size} (one worker takes every request: a batch fills in "
                     f"about {size} x {fmt(interval)} = {fmt(size * interval)} ms)")
    elif interval and timeout:
        k = int(timeout // interval)
        if 2 <= k < size:
            fixes.append(f"--device={_batch_device(ctx.run.summary, k)} --nireq={k} (batches "
                         f"of {k} fill in about {fmt(k * interval)} ms, within the timeout)")
    real = _real_device(ctx.run.summary)
    if real:
        fixes.insert(0 if not costly else len(fixes), f"--device={real} (no batching)")
    title = ("the batch timer dominates: batches cannot fill at this rate" if costly else
             "batches cannot fill at this rate: every request runs alone after a short timer")
    return Finding(
        "batch_timer", "warn" if costly else "info", title,
        text, " or ".join(fixes) or "batch less, or send requests faster",
        request_ranges(np.flatnonzero(alone)),
        {"alone": int(alone.sum()), "labelled": int(labelled.sum()), "timeout_ms": timeout,
         "batch_size": size, "nireq": nireq, "interval_ms": interval, "fill_ms": fill,
         "latency_median_alone_ms": _median(lat[alone]), "batch_wait_median_ms": infer,
         "suggested_timeout_ms": lower},
        impact_ms=float(np.nansum(lat[alone])))


def check_batch_fallback(ctx):
    """Batching asked for (a BATCH: device) but the device runs the model with batch 1."""
    b = ctx.batching
    device = str(summary_get(ctx.run.summary, "device") or "")
    if b.get("batching") is not False or not device.startswith("BATCH:"):
        return None
    warnings = [w for w in summary_get(ctx.run.summary, "warnings") or []
                if "batch" in w.lower() and "unbatched" in w.lower() or "nothing is batched" in w]
    requested = b.get("requested_batch_size")
    if requested is None:
        fix = f"--device={device}(4)"
        why = f"{device} gives no batch size and the device chose none"
    else:
        fix = (warnings[0].split(": ", 1)[1] if warnings and ": " in warnings[0]
               else "re-export the model with a free batch dimension")
        why = f"{device} asked for batches of {requested}, but the network runs with batch 1"
    n = int(ctx.done.sum())
    return Finding(
        "batch_fallback", "warn", "batching asked for but not happening (batch 1)",
        f"{why}: all {n} completed requests ran one at a time"
        + (f" ({warnings[0]})" if warnings and requested is not None else ""),
        fix, request_ranges(np.flatnonzero(ctx.done)),
        {"device": device, "requested_batch_size": requested, "requests": n},
        impact_ms=None)


CHECKS = (("starved_workers", check_starved), ("batch_timer", check_timer),
          ("batch_fallback", check_batch_fallback), ("back_pressure", check_back_pressure),
          ("overload", check_overload), ("device_queueing", check_device_queueing),
          ("pacing", check_pacing), ("other_programs", check_other_programs))


# --------------------------------------------------------------- helpers

def mean_interval_ms(run):
    """The mean gap between due times (ms), or None for fewer than two requests."""
    due = run["scheduled_s"]
    due = due[np.isfinite(due)]
    if due.size < 2:
        return None
    return float((due[-1] - due[0]) / (due.size - 1) * 1e3)


def _batch_device(summary, k):
    real = _real_device(summary)
    return f"BATCH:{real}({k})" if real else f"BATCH:CPU({k})"


def _real_device(summary):
    """The device under a BATCH: device string (``BATCH:CPU(4)`` -> ``CPU``), else None."""
    device = str(summary_get(summary, "device") or "")
    if not device.startswith("BATCH:"):
        return None
    inner = device.split(":", 1)[1]
    return inner.split("(", 1)[0] or None

