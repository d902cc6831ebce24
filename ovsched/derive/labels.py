"""Which requests automatic batching ran in a full batch and which alone after its timeout.

The labels replay the BATCH plugin's own rules over the records; they never group
requests by how close their completion times are. The rules (OpenVINO
``src/plugins/auto_batch/src/compiled_model.cpp`` and ``async_infer_request.cpp``):

- Infer requests are dealt to workers in creation order: request n of the compiled model
  belongs to worker n // batch. ``AsyncInferQueue`` creates its requests in slot order, so
  slot s belongs to worker s // batch when nothing created a request on that compiled
  model before the queue.
- Each worker has a thread that waits on a condition with ``wait_for(timeout)``. The wait
  ends (and so the timer restarts) when the batch-th waiting request notifies it, when the
  worker's batched inference completes, when the timeout expires and when a flush ends.
  The thread starts when the worker's first request is created; until it first waits, a
  notify is lost, so a batch filled before then launches at the first expiry.
- Awake with exactly ``batch`` requests waiting, the worker launches one batched inference
  and waits again at once.
- On expiry with 1 <= k < batch waiting, the worker runs each of the k alone (a flush) and
  blocks until all k are done; a notify that arrives meanwhile is lost, so a batch that
  fills during a flush launches only at the next expiry.

The records only bound when things happened: a submit is stamped just before
``start_async`` (which queues the request before it returns), a completion when its
callback runs (``completed - submitted - infer_ms`` bounds how late, per request), and a
worker wakes some time after what woke it, on a busy machine many ms. That time, the
allowance, comes from the run's own data (``allowance``). Each worker's history is replayed
with time intervals (replay.py); where an event could fall either side of another, both
histories are followed, a history contradicted by a completion time is dropped, and a
request whose surviving histories disagree is labelled ``unknown`` with a note saying why.
Where the profiles were read, they are a second witness (``witness``).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import replay
from .replay import BATCHED, TIMEOUT, UNKNOWN

SINGLE = "single"
# The allowance for runs that recorded no callback lags (saved before ``infer_ms`` was).
JITTER_MS = 20.0
# The allowance is LAG_FACTOR times the run's largest callback lag, and never below the
# floor: a thread woken by a timer or a notify waits for a core as a callback does.
ALLOWANCE_FLOOR_MS = 2.0
LAG_FACTOR = 2.0
# A worker no history fits within the allowance is replayed once more with a wide one.
WIDE_FACTOR = 4.0
WIDE_MIN_MS = 50.0
# How far apart the callbacks of one batch may come: measured 12 ms beside two busy
# processes; at least this, or twice the allowance.
SPREAD_MIN_MS = 50.0


@dataclass
class Labels:
    """Per-request labels, in request order.

    ``ran``: "batched", "timeout" (ran alone after the timer expired), "single" (batch
    size 1: no automatic batching), "unknown", or "" (never completed). ``batch``: the
    batched inference's id, -1 otherwise. ``flush``: the timeout flush's id, -1 otherwise.
    ``launch_s``: when the request's batch was filled and launched, or its flush's timer
    expired (NaN otherwise), with ``launch_err_ms`` the half-width of its interval.
    ``notes``: why any label is unknown. ``allowance_ms`` and ``allowance_from``: how late
    a wake may be, and how that was derived; ``wide``: workers replayed with a wider one.
    ``witness``: what the profiles said (see ``witness``)."""

    ran: np.ndarray
    batch: np.ndarray
    flush: np.ndarray
    notes: list = field(default_factory=list)
    launch_s: np.ndarray = None
    launch_err_ms: np.ndarray = None
    allowance_ms: float = None
    allowance_from: str = ""
    allowance_median_ms: float = None
    wide: dict = field(default_factory=dict)
    witness: dict = field(default_factory=dict)


def callback_lags_ms(submitted_s, completed_s, infer_ms):
    """Per request, how far its recorded times lag OpenVINO's own: ``completed - submitted
    - infer_ms`` (the callback's wait behind the inference's end plus the submit stamp's
    lead on the queue's), NaN where not recorded."""
    if infer_ms is None:
        return np.full(len(submitted_s), np.nan)
    lag = (np.asarray(completed_s, float) - np.asarray(submitted_s, float)) * 1e3 \
        - np.asarray(infer_ms, float)
    return np.maximum(lag, 0.0)


def allowance(submitted_s, completed_s, infer_ms, wake_late_ms=None):
    """``(ms, how)``: how late a worker's wake may be, from this run's own data: the
    largest lateness of a normal-priority thread's timed waits during the run (the wake
    probe), and twice the largest callback lag, at least the floor."""
    lag = callback_lags_ms(submitted_s, completed_s, infer_ms)
    lag = lag[~np.isnan(lag)]
    if hasattr(wake_late_ms, "get"):  # the summary's wake_probe (a part or a dict)
        wake_late_ms = wake_late_ms.get("max_ms")
    wake = np.asarray([] if wake_late_ms is None else wake_late_ms, dtype=float).ravel()
    wake = wake[~np.isnan(wake)]
    if not lag.size and not wake.size:
        return JITTER_MS, (f"fixed {JITTER_MS:g} ms: the run recorded neither callback "
                           f"lags (infer_ms) nor wake-ups")
    parts, ms = [], ALLOWANCE_FLOOR_MS
    if wake.size:
        ms = max(ms, float(wake.max()))
        parts.append(f"the latest wake of a normal-priority thread's timed waits during "
                     f"the run ({wake.max():.2f} ms)")
    if lag.size:
        ms = max(ms, LAG_FACTOR * float(lag.max()))
        parts.append(f"{LAG_FACTOR:g} x the largest callback lag ({lag.max():.2f} ms over "
                     f"{lag.size} requests, completed - submitted - infer_ms)")
    return ms, "the larger of " + " and ".join(parts) + f", at least {ALLOWANCE_FLOOR_MS:g} ms"


# Each event's allowance is the probe's latest wake within this many windows either side.
LOCAL_PAD = 2


class LocalAllowance:
    """The allowance around a time interval (seconds in, seconds out): the wake probe's
    latest wake in the windows within LOCAL_PAD of it, at least ``floor_s``; outside the
    probe's span, or for an unbounded interval, the largest over the run."""

    def __init__(self, floor_s, start_s, window_s, maxima_ms):
        self.floor_s = floor_s
        self.start_s = start_s
        self.window_s = window_s
        self.maxima_s = np.asarray(maxima_ms, dtype=float) / 1e3
        self.largest_s = max(floor_s, float(self.maxima_s.max()))

    def __call__(self, lo, hi):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return self.largest_s
        i = math.floor((lo - self.start_s) / self.window_s) - LOCAL_PAD
        j = math.floor((hi - self.start_s) / self.window_s) + LOCAL_PAD
        if i < 0 or j >= len(self.maxima_s):
            return self.largest_s
        return max(self.floor_s, float(self.maxima_s[i:j + 1].max()))

    def median_ms(self):
        k = 2 * LOCAL_PAD + 1
        if len(self.maxima_s) < k:
            return self.largest_s * 1e3
        local = np.lib.stride_tricks.sliding_window_view(self.maxima_s, k).max(axis=1)
        return float(np.median(np.maximum(local, self.floor_s))) * 1e3


def local_allowance(submitted_s, completed_s, infer_ms, probe):
    """A LocalAllowance from the summary's ``wake_probe`` block, or None without windows."""
    if not hasattr(probe, "get") or not probe.get("windows_max_ms"):
        return None
    floor_ms, _ = allowance(submitted_s, completed_s, infer_ms, None)
    if infer_ms is None:
        floor_ms = ALLOWANCE_FLOOR_MS
    return LocalAllowance(floor_ms / 1e3, probe["windows_start_s"], probe["window_ms"] / 1e3,
                          probe["windows_max_ms"])


def _intervals(value, first_submit_s, jitter_s):
    if value is None:
        return (-math.inf, first_submit_s)
    if np.ndim(value) == 0:
        return (float(value), float(value) + jitter_s)
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"timer_start_s ({lo}, {hi}): earliest is after latest")
    return (lo, hi)


def label_batches(slot, submitted_s, completed_s, *, batch_size, timeout_ms, timer_start_s,
                  nireq, jitter_ms=None, infer_ms=None, compute_ms=None, profile_id=None,
                  wake_late_ms=None):
    """Label every request from the BATCH plugin's rules (see the module docstring).

    ``slot``, ``submitted_s``, ``completed_s``: one entry per request, in request order
    (slot -1 for a request never submitted, completed NaN for one never completed), all
    submitted by one thread, each stamped just before its ``start_async``.
    ``timer_start_s``: when the queue created its requests (the workers' threads start
    then), on the records' clock: a time, an (earliest, latest) pair, or None for "some
    time before the first submit". ``infer_ms``: each request's ``InferRequest.latency``:
    the run's callback lags then bound the completions and give the allowance. ``jitter_ms``:
    a fixed allowance instead (also for completions). ``compute_ms`` and ``profile_id``:
    per request, the inference's own time and which profile it reported (-1: not read),
    from ``PERF_COUNT``: a second witness (see ``witness``). ``wake_late_ms``: the wake
    probe's lateness (the largest counts; see ovsched/run/wakeprobe.py).
    """
    slot = np.asarray(slot, dtype=int)
    submitted_s = np.asarray(submitted_s, dtype=float)
    completed_s = np.asarray(completed_s, dtype=float)
    n = len(slot)
    if not (len(submitted_s) == len(completed_s) == n):
        raise ValueError("slot, submitted_s and completed_s differ in length")
    if batch_size < 1 or nireq < 1 or timeout_ms < 0 or (jitter_ms or 0) < 0:
        raise ValueError("batch_size and nireq must be >= 1, timeout_ms and jitter_ms >= 0")
    if slot.size and slot.max() >= nireq:
        raise ValueError(f"slot {slot.max()} is outside a queue of nireq={nireq}")
    local = None
    if jitter_ms is None:
        allowance_ms, how = allowance(submitted_s, completed_s, infer_ms, wake_late_ms)
        lag_ms = callback_lags_ms(submitted_s, completed_s, infer_ms)
        local = local_allowance(submitted_s, completed_s, infer_ms, wake_late_ms)
        labels_median = local.median_ms() if local is not None else allowance_ms
        if local is not None:
            how += (f"; taken locally: each event allows the probe's latest wake within "
                    f"{LOCAL_PAD * local.window_s * 1e3:g} ms of it (median "
                    f"{local.median_ms():.2f} ms, largest {allowance_ms:.2f} ms)")
    else:
        allowance_ms, how = float(jitter_ms), "given"
        lag_ms = np.full(n, np.nan)
    labels = Labels(np.full(n, "", dtype=object), np.full(n, -1, dtype=int),
                    np.full(n, -1, dtype=int), [], np.full(n, np.nan), np.full(n, np.nan),
                    allowance_ms, how)
    completed = ~np.isnan(completed_s)
    submitted = slot >= 0
    if batch_size == 1:  # the plugin then passes each request straight to the device
        labels.ran[completed & submitted] = SINGLE
        return labels

    labels.allowance_median_ms = labels_median if jitter_ms is None else allowance_ms
    lag_s = np.where(np.isnan(lag_ms), allowance_ms, lag_ms) / 1e3
    # the submit stamp's lead on start_async's own clock is part of the measured lag
    lead_s = np.nan_to_num(lag_ms, nan=0.0) / 1e3
    compute_s = np.zeros(n) if compute_ms is None else \
        np.nan_to_num(np.asarray(compute_ms, float), nan=0.0) / 1e3
    order = np.flatnonzero(submitted)
    order = order[np.argsort(submitted_s[order], kind="stable")]
    first_submit = float(submitted_s[order[0]]) if order.size else 0.0
    start = _intervals(timer_start_s, first_submit, allowance_ms / 1e3)

    verdict, launches, notes, wide = _replay_all(
        order, slot, submitted_s, completed_s, lag_s, lead_s, compute_s, start, batch_size,
        timeout_ms / 1e3, allowance_ms / 1e3, local)
    labels.notes.extend(notes)
    labels.wide = wide
    _number(labels, verdict, launches, submitted_s, completed_s, compute_s)
    if profile_id is not None:
        witness(labels, profile_id, submitted_s, completed_s, batch_size, slot)
    return labels


def _replay_all(order, slot, submitted_s, completed_s, lag_s, lead_s, compute_s, start,
                batch_size, timeout_s, a_s, local=None):
    """Replay every worker with allowance ``a_s``; a worker no history fits is replayed
    once more with a wide allowance. Returns verdicts, launches, notes and {worker: the
    wide allowance in ms} for the workers that needed it."""
    # a request is queued inside its start_async, which returns before the next submit
    nxt = np.append(submitted_s[order][1:], math.inf)
    verdict, launches, notes, wide_used = {}, {}, [], {}
    wide_s = max(WIDE_FACTOR * a_s, WIDE_MIN_MS / 1e3)
    spread_s = max(2 * a_s, SPREAD_MIN_MS / 1e3)
    for w in sorted(set((slot[order] // batch_size).tolist())):
        pick = slot[order] // batch_size == w
        mine = [int(r) for r in order[pick]]
        needed_wide = False
        for width in (local or a_s, wide_s):
            at = [width(t, t) if callable(width) else width for t in submitted_s[mine]]
            queued_hi = np.minimum(submitted_s[mine] + lead_s[mine] + at, nxt[pick])
            arrivals = [(float(submitted_s[r]), float(q)) for r, q in zip(mine, queued_hi)]
            worker = replay.Worker(w, batch_size, timeout_s, width, completed_s, lag_s,
                                   compute_s, slot, spread_s=spread_s)
            found = replay.replay_worker(worker, mine, arrivals, start, notes)
            if found is not None:
                break
            needed_wide = True
        said = "the allowance" + (" (local, up to " if local else " (") + f"{a_s * 1e3:.3g} ms)"
        if found is None:
            notes.append(f"worker {w}: no history under the plugin's rules fits the "
                         f"records, even with wakes up to {wide_s * 1e3:g} ms late: were "
                         f"infer requests created on this compiled model before the queue? "
                         f"Its {len(mine)} requests are unknown")
            found = ({r: (UNKNOWN,) for r in mine}, {})
        elif needed_wide:
            wide_used[w] = wide_s * 1e3
            notes.append(f"worker {w}: no history fits with wakes within {said} (a worker "
                         f"or a request was delayed more); replayed allowing "
                         f"{wide_s * 1e3:.3g} ms")
        verdict.update(found[0])
        launches.update(found[1])
    return verdict, launches, notes, wide_used


def _number(labels, verdict, launches, submitted_s, completed_s, compute_s):
    """Give batches and flushes ids in submit order, and each request its launch."""
    batches = sorted({v[1] for v in verdict.values() if v[0] == BATCHED},
                     key=lambda m: (float(np.max(submitted_s[list(m)])), m))
    flushes = sorted({v[1] for v in verdict.values() if v[0] == TIMEOUT},
                     key=lambda m: (float(np.max(submitted_s[list(m)])), m))
    ids = {BATCHED: {m: i for i, m in enumerate(batches)},
           TIMEOUT: {m: i for i, m in enumerate(flushes)}}
    for r, v in verdict.items():
        if np.isnan(completed_s[r]):
            continue
        labels.ran[r] = v[0]
        if v[0] == UNKNOWN:
            continue
        (labels.batch if v[0] == BATCHED else labels.flush)[r] = ids[v[0]][v[1]]
        lo, hi = launches[v[1]]
        idx = list(v[1])
        done = completed_s[idx]
        if not np.all(np.isnan(done)):  # launched before its members could end
            hi = min(hi, float(np.nanmin(done)) - float(compute_s[idx].min()))
        lo = max(lo, float(np.max(submitted_s[idx])))
        labels.launch_s[r] = (lo + hi) / 2
        labels.launch_err_ms[r] = max(hi - lo, 0.0) / 2 * 1e3


def witness(labels, profile_id, submitted_s, completed_s, batch_size, slot):
    """Hold the replay against the profiles (``PERF_COUNT``): a batch's members report the
    batched inference's profile and a request run alone its own. Measured on OpenVINO
    2026.4, the first member read of a batch can report another profile than the rest, and
    different inferences of a small model can report identical ones; so only these count:
    a batch of 3 or more whose members all report different profiles is refuted, and so is
    a request labelled ``timeout`` whose profile a full batch of its worker's requests,
    all in flight at one moment with it, share. A refuted label becomes ``unknown`` with a
    note; the counts say how often the profiles agreed and disagreed."""
    pid = np.asarray(profile_id, dtype=int)
    worker = np.asarray(slot, dtype=int) // batch_size
    done = np.where(np.isnan(completed_s), np.inf, completed_s)
    said = {"batches_confirmed": 0, "batches_refuted": 0, "timeouts_confirmed": 0,
            "timeouts_refuted": 0}
    for b in sorted(set(labels.batch[labels.ran == BATCHED].tolist())):
        members = np.flatnonzero((labels.batch == b) & (labels.ran == BATCHED))
        seen = pid[members][pid[members] >= 0]
        distinct = len(set(seen.tolist()))
        if seen.size >= 3 and distinct == seen.size:
            said["batches_refuted"] += 1
            _unknown(labels, members, f"requests {_ranges(members.tolist())}: the replay "
                     f"puts them in one batch, but each reported another profile "
                     f"(PERF_COUNT): they did not run in one inference")
        elif seen.size == members.size and distinct < seen.size:
            said["batches_confirmed"] += 1
    for r in np.flatnonzero(labels.ran == TIMEOUT):
        if pid[r] < 0:
            continue
        same = np.flatnonzero((pid == pid[r]) & (worker == worker[r])
                              & (submitted_s < done[r]) & (done > submitted_s[r]))
        together = same.size >= batch_size and any(
            np.sum((submitted_s[same] <= t) & (done[same] > t)) >= batch_size
            for t in submitted_s[same])
        if together:
            said["timeouts_refuted"] += 1
            _unknown(labels, [r], f"request {r}: the replay has it run alone after the "
                     f"timeout, but a full batch of its worker's requests in flight with it "
                     f"reported the same profile (PERF_COUNT), as a batch's members do")
        else:
            said["timeouts_confirmed"] += 1
    labels.witness = said
    return labels


def _unknown(labels, requests, note):
    for r in requests:
        labels.ran[r] = UNKNOWN
        labels.batch[r] = labels.flush[r] = -1
        labels.launch_s[r] = labels.launch_err_ms[r] = np.nan
    labels.notes.append(note)


def _plural(count, singular, plural):
    return f"{count} {singular if count == 1 else plural}"


def summarize(labels, batch_size, timeout_ms):
    """Counts of the labels and one line in the plugin's words, e.g.
    "12 batches of 16; 8 requests ran unbatched after the 1000 ms timeout (1 flush)"."""
    ran = np.asarray(labels.ran, dtype=object)
    counts = {k: int(np.sum(ran == k)) for k in (BATCHED, TIMEOUT, SINGLE, UNKNOWN)}
    n_batches = len(set(np.asarray(labels.batch)[ran == BATCHED].tolist()))
    n_flushes = len(set(np.asarray(labels.flush)[ran == TIMEOUT].tolist()))
    never = int(np.sum(ran == ""))
    if batch_size == 1:
        ran_singly = _plural(counts[SINGLE], "request", "requests")
        parts = [f"{ran_singly} ran singly (batch size 1: no automatic batching)"]
    else:
        parts = [f"{_plural(n_batches, 'batch', 'batches')} of {batch_size}" if n_batches
                 else f"no batch of {batch_size} filled"]
        if counts[TIMEOUT]:
            verb = "request ran" if counts[TIMEOUT] == 1 else "requests ran"
            parts.append(f"{counts[TIMEOUT]} {verb} unbatched after the {timeout_ms:g} ms "
                         f"timeout ({_plural(n_flushes, 'flush', 'flushes')})")
    if counts[UNKNOWN]:
        parts.append(f"{counts[UNKNOWN]} unknown (the times cannot decide: see notes)")
    if never:
        parts.append(f"{never} never completed")
    return {"batches": n_batches, "batch_size": batch_size, "batched": counts[BATCHED],
            "timeout": counts[TIMEOUT], "flushes": n_flushes, "single": counts[SINGLE],
            "unknown": counts[UNKNOWN], "never_completed": never, "timeout_ms": timeout_ms,
            "notes": list(labels.notes), "text": "; ".join(parts),
            "allowance_ms": labels.allowance_ms, "allowance_from": labels.allowance_from,
            "allowance_median_ms": labels.allowance_median_ms,
            "wide_allowance_ms": {str(w): ms for w, ms in sorted(labels.wide.items())},
            "launch_err_ms": _spread(labels.launch_err_ms), "witness": dict(labels.witness)}


def _spread(values):
    values = np.asarray(values if values is not None else [], dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return None
    return {"median": float(np.median(values)), "max": float(values.max())}


def _ranges(values):
    values, out = sorted(values), []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def starved_slots(nireq, batch_size):
    """Slots whose worker can never fill a batch, and a one-line warning ("" if none).

    Requests are dealt to workers ``batch_size`` at a time, so when ``nireq`` is not a
    multiple of the batch the last worker holds fewer requests than a batch. The queue
    (``AsyncInferQueue``) hands out idle slots in the order they came back, so those slots,
    back only after the timer, also break up the other workers' batches."""
    if batch_size <= 1 or nireq % batch_size == 0:
        return [], ""
    full = nireq // batch_size * batch_size
    slots = list(range(full, nireq))
    fix = full + batch_size
    which = "slot" if len(slots) == 1 else "slots"
    text = (f"{which} {_ranges(slots)} can never fill a batch of {batch_size} (their worker "
            f"gets only {len(slots)} of the queue's {nireq} requests): each request there "
            f"waits for the AUTO_BATCH_TIMEOUT timer and runs alone"
            + (f"; and as the queue hands out idle slots in the order they came back, these "
               f"late ones also leave slots {_ranges(range(full))} short of a full batch at "
               f"times, so that they too run requests alone" if full else "")
            + f"; use nireq={fix}")
    return slots, text
