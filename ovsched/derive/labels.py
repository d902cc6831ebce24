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
  The thread starts when the worker's first request is created.
- Awake with exactly ``batch`` requests waiting, the worker launches one batched inference
  and waits again at once.
- On expiry with 1 <= k < batch waiting, the worker runs each of the k alone (a flush) and
  blocks until all k are done; a notify that arrives meanwhile is lost, so a batch that
  fills during a flush launches only at the next expiry.

The records only bound when things happened: a submit is stamped just before
``start_async`` (which queues the request before it returns), a completion when its
callback runs, and callbacks of one batch can arrive 10 ms or more apart on a busy
machine. Each worker's history is therefore replayed with time intervals; where an event
could fall either side of another, both histories are followed, a history contradicted by
a completion time is dropped, and a request whose surviving histories disagree is
labelled ``unknown`` with a note saying why.
"""

import math
from dataclasses import dataclass, field

import numpy as np

# How late a recorded time may lag the event it stands for: a callback behind the
# inference's end, a worker's wake behind its notify, a timer behind its deadline.
JITTER_MS = 20.0
# Histories followed at once for one worker before giving up on it (then: unknown).
MAX_HISTORIES = 256

BATCHED, TIMEOUT, SINGLE, UNKNOWN = "batched", "timeout", "single", "unknown"


@dataclass
class Labels:
    """Per-request labels, in request order.

    ``ran``: "batched", "timeout" (ran alone after the timer expired), "single" (batch
    size 1: no automatic batching), "unknown", or "" (never completed). ``batch``: the
    batched inference's id, -1 otherwise. ``flush``: the timeout flush's id, -1 otherwise.
    ``notes``: why any label is unknown.
    """

    ran: np.ndarray
    batch: np.ndarray
    flush: np.ndarray
    notes: list = field(default_factory=list)


class _History:
    """One possible history of a worker up to now; times are (earliest, latest) seconds."""

    __slots__ = ("batch", "batch_done", "expiry", "flush", "flush_end", "labels", "notes",
                 "waiting")

    def __init__(self, expiry):
        self.waiting = ()  # requests queued and not launched, in arrival order
        self.expiry = expiry  # the running timer's deadline; None while a flush blocks
        self.flush = None  # members of the flush the worker is blocked in
        self.flush_end = None
        self.batch = None  # members of the batched inference in flight
        self.batch_done = None
        self.labels = {}  # request -> (kind, members) or (UNKNOWN,)
        self.notes = frozenset()

    def copy(self):
        h = _History.__new__(_History)
        for name in _History.__slots__:
            setattr(h, name, getattr(self, name))
        h.labels = dict(self.labels)
        return h

    def key(self):
        return (self.waiting, self.flush, self.batch, self.expiry is None)


def _hull(a, b):
    if a is None:
        return b
    return (min(a[0], b[0]), max(a[1], b[1]))


def _merge(histories):
    """Join histories that left the worker in the same state; their labels must agree."""
    groups = {}
    for h in histories:
        g = groups.get(h.key())
        if g is None:
            groups[h.key()] = h
            continue
        for name in ("expiry", "flush_end", "batch_done"):
            mine, theirs = getattr(g, name), getattr(h, name)
            if mine is not None and theirs is not None:
                setattr(g, name, _hull(mine, theirs))
        for r in set(g.labels) | set(h.labels):
            if g.labels.get(r) != h.labels.get(r):
                g.labels[r] = (UNKNOWN,)
        g.notes = g.notes | h.notes
    return list(groups.values())


class _Worker:
    """Replays one worker's rules over its requests' records."""

    def __init__(self, number, batch_size, timeout_s, jitter_s, completed_s, slot):
        self.number = number
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.jitter_s = jitter_s
        self.completed_s = completed_s
        self.slot = slot

    def _ends(self, members, launch_lo):
        """When the notify after ``members`` all completed can come, or None if a recorded
        completion precedes the launch (this history is impossible)."""
        done = self.completed_s[list(members)]
        known = done[~np.isnan(done)]
        if known.size and known.min() < launch_lo:
            return None
        if known.size < len(members):
            return (max(launch_lo, known.max()) if known.size else launch_lo, math.inf)
        last = float(known.max())
        return (max(launch_lo, last - self.jitter_s), last + self.jitter_s)

    def _restart(self, wake):
        return (wake[0] + self.timeout_s, wake[1] + self.timeout_s + self.jitter_s)

    def _launch_batch(self, h, when):
        ends = self._ends(h.waiting, when[0])
        done = self.completed_s[list(h.waiting)]
        done = done[~np.isnan(done)]
        # one inference, then its callbacks one after another: they cannot spread far
        if ends is None or (done.size and done.max() - done.min() > self.jitter_s):
            return False
        for r in h.waiting:
            h.labels[r] = (BATCHED, h.waiting)
        h.batch, h.batch_done, h.waiting = h.waiting, ends, ()
        h.expiry = self._restart(when)
        return True

    def _idle_expiry(self, h, lo, hi):
        """The first expiry after an arrival at [lo, hi] to a worker with nothing waiting,
        whose timer runs idle from ``h.expiry`` (ticking every timeout meanwhile)."""
        x_lo, x_hi = h.expiry
        period_lo, period_hi = self.timeout_s, self.timeout_s + self.jitter_s
        first = 0 if x_hi >= lo else math.ceil((lo - x_hi) / period_hi)
        if x_lo == -math.inf or period_lo <= 0:
            last_hi = math.inf
        elif hi < x_lo:
            last_hi = x_hi
        else:
            last_hi = x_hi + (math.floor((hi - x_lo) / period_lo) + 1) * period_hi
        return (max(lo, x_lo + first * period_lo), min(hi + period_hi, last_hi))

    def _apply(self, h, kind, when, request):
        """Let event ``kind`` happen at ``when`` in history ``h``; False if impossible."""
        if kind == "arrival":
            if not h.waiting and h.flush is None:
                h.expiry = self._idle_expiry(h, *when)
            h.waiting = h.waiting + (request,)
            if len(h.waiting) == self.batch_size and h.flush is None:
                return self._launch_batch(h, when)
            return True
        if kind == "expiry":
            if len(h.waiting) == self.batch_size:  # filled during a flush: notify was lost
                return self._launch_batch(h, when)
            ends = self._ends(h.waiting, when[0])
            if ends is None:
                return False
            for r in h.waiting:
                h.labels[r] = (TIMEOUT, h.waiting)
            h.flush, h.flush_end, h.waiting, h.expiry = h.waiting, ends, (), None
            return True
        if kind == "flush_end":
            h.flush, h.flush_end = None, None
            h.expiry = self._restart(when)
            return True
        # batch_done: its notify is lost if the worker is blocked in a flush
        h.batch, h.batch_done = None, None
        if h.flush is None:
            h.expiry = self._restart(when)
            if len(h.waiting) == self.batch_size:
                return self._launch_batch(h, when)
        return True

    def _events(self, h, arrival):
        events = []
        if arrival is not None:
            events.append(("arrival", arrival))
        if h.flush is not None:
            events.append(("flush_end", h.flush_end))
        elif h.waiting:
            events.append(("expiry", h.expiry))
        if h.batch is not None and (arrival is not None or h.waiting or h.flush is not None):
            events.append(("batch_done", h.batch_done))
        return events

    def advance(self, h, request, arrival):
        """Every history after ``request`` arrives at ``arrival`` (None: after the last
        arrival, until nothing waits)."""
        done, work = [], [(h, arrival)]
        while work:
            h, arrival = work.pop()
            events = self._events(h, arrival)
            if arrival is None and not h.waiting and h.flush is None:
                done.append(h)
                continue
            firsts = []
            for kind, (lo, hi) in events:
                others_hi = min((w[1] for k, w in events if k != kind), default=math.inf)
                if lo <= others_hi and lo <= hi:
                    firsts.append((kind, (lo, min(hi, others_hi))))
            note = self._ambiguity_note(firsts, request, arrival)
            for kind, when in firsts:
                g = h.copy() if len(firsts) > 1 else h
                if note:
                    g.notes = g.notes | {note}
                # the other contenders now happen no earlier than this event
                for name, w in events:
                    if name not in (kind, "arrival"):
                        setattr(g, name, (max(w[0], when[0]), w[1]))
                if not self._apply(g, kind, when, request):
                    continue
                if kind == "arrival":
                    done.append(g)
                else:
                    rest = None if arrival is None else (max(arrival[0], when[0]), arrival[1])
                    work.append((g, rest))
        return done

    def _ambiguity_note(self, firsts, request, arrival):
        if len(firsts) < 2:
            return None
        kinds = {k: w for k, w in firsts}
        w = f"worker {self.number}"
        if "arrival" in kinds and "expiry" in kinds:
            x = kinds["expiry"]
            return (f"{w}: request {request} (slot {self.slot[request]}) was queued at "
                    f"{arrival[0]:.3f}-{arrival[1]:.3f} s and its timer expired at "
                    f"{x[0]:.3f}-{x[1]:.3f} s: too close to tell which came first")
        names = {"arrival": f"request {request} arrived", "expiry": "the timer expired",
                 "flush_end": "a flush ended", "batch_done": "a batch completed"}
        said = " / ".join(f"{names[k]} at {v[0]:.3f}-{v[1]:.3f} s" for k, v in firsts)
        return f"{w}: cannot order these events: {said}"


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
                  nireq, jitter_ms=JITTER_MS):
    """Label every request from the BATCH plugin's rules (see the module docstring).

    ``slot``, ``submitted_s``, ``completed_s``: one entry per request, in request order
    (slot -1 for a request never submitted, completed NaN for one never completed), all
    submitted by one thread, each stamped just before its ``start_async``.
    ``timer_start_s``: when the queue created its requests (the workers' timers start
    then), on the records' clock: a time, an (earliest, latest) pair, or None for
    "some time before the first submit". ``jitter_ms``: how late a recorded completion,
    a worker's wake or a timer may be.
    """
    slot = np.asarray(slot, dtype=int)
    submitted_s = np.asarray(submitted_s, dtype=float)
    completed_s = np.asarray(completed_s, dtype=float)
    n = len(slot)
    if not (len(submitted_s) == len(completed_s) == n):
        raise ValueError("slot, submitted_s and completed_s differ in length")
    if batch_size < 1 or nireq < 1 or timeout_ms < 0 or jitter_ms < 0:
        raise ValueError("batch_size and nireq must be >= 1, timeout_ms and jitter_ms >= 0")
    if slot.size and slot.max() >= nireq:
        raise ValueError(f"slot {slot.max()} is outside a queue of nireq={nireq}")
    ran = np.full(n, "", dtype=object)
    batch = np.full(n, -1, dtype=int)
    flush = np.full(n, -1, dtype=int)
    completed = ~np.isnan(completed_s)
    submitted = slot >= 0
    if batch_size == 1:  # the plugin then passes each request straight to the device
        ran[completed & submitted] = SINGLE
        return Labels(ran, batch, flush, [])

    jitter_s = jitter_ms / 1e3
    order = np.flatnonzero(submitted)
    order = order[np.argsort(submitted_s[order], kind="stable")]
    # a request is queued inside its start_async, which returns before the next submit
    queued_hi = np.full(n, np.nan)
    nxt = np.append(submitted_s[order][1:], math.inf)
    queued_hi[order] = np.minimum(submitted_s[order] + jitter_s, nxt)
    first_submit = float(submitted_s[order[0]]) if order.size else 0.0
    start = _intervals(timer_start_s, first_submit, jitter_s)

    verdict, notes = {}, []
    for w in sorted(set((slot[order] // batch_size).tolist())):
        mine = order[slot[order] // batch_size == w]
        verdict.update(_label_worker(w, mine, submitted_s, queued_hi, completed_s, slot,
                                     batch_size, timeout_ms / 1e3, jitter_s, start, notes))

    batches = sorted({v[1] for v in verdict.values() if v[0] == BATCHED},
                     key=lambda m: (float(np.max(submitted_s[list(m)])), m))
    flushes = sorted({v[1] for v in verdict.values() if v[0] == TIMEOUT},
                     key=lambda m: (float(np.max(submitted_s[list(m)])), m))
    batch_id = {m: i for i, m in enumerate(batches)}
    flush_id = {m: i for i, m in enumerate(flushes)}
    for r, v in verdict.items():
        if not completed[r]:
            continue
        ran[r] = v[0]
        if v[0] == BATCHED:
            batch[r] = batch_id[v[1]]
        elif v[0] == TIMEOUT:
            flush[r] = flush_id[v[1]]
    return Labels(ran, batch, flush, notes)


def _agreed(histories):
    """Each request's label where every history agrees, else unknown; and their notes."""
    labels = {}
    for r in set().union(*(h.labels for h in histories)):
        seen = {h.labels.get(r) for h in histories}
        labels[r] = seen.pop() if len(seen) == 1 else (UNKNOWN,)
    return labels, set().union(*(h.notes for h in histories))


def _label_worker(w, requests, submitted_s, queued_hi, completed_s, slot, batch_size,
                  timeout_s, jitter_s, start, notes):
    """Verdicts {request: (kind, members)} for one worker's requests (in arrival order)."""
    worker = _Worker(w, batch_size, timeout_s, jitter_s, completed_s, slot)
    histories = [_History((start[0] + timeout_s, start[1] + timeout_s + jitter_s))]
    decided, why = {}, set()

    def settle(labels, reasons):
        decided.update(labels)
        if any(v[0] == UNKNOWN for v in labels.values()):
            why.update(reasons)

    arrivals = [(int(r), (float(submitted_s[r]), float(queued_hi[r]))) for r in requests]
    for r, when in arrivals + [(None, None)]:
        after = []
        for h in histories:
            after.extend(worker.advance(h, r, when))
        histories = _merge(after)
        if not histories:
            at = f"request {r}" if r is not None else "its last requests"
            notes.append(f"worker {w}: no history under the plugin's rules fits the records "
                         f"(at {at}): were infer requests created on this compiled model "
                         f"before the queue, or do the times lag more than "
                         f"{jitter_s * 1e3:g} ms? Its {len(requests)} requests are unknown")
            return {int(q): (UNKNOWN,) for q in requests}
        if len(histories) > MAX_HISTORIES:
            notes.append(f"worker {w}: over {MAX_HISTORIES} possible histories from request "
                         f"{r} on; its labels from there are unknown")
            return {int(q): decided.get(int(q), (UNKNOWN,)) for q in requests}
        # a label, once given, never changes within a history: where all agree, it is final
        agreed = {q: v for q, v in histories[0].labels.items()
                  if all(h.labels.get(q) == v for h in histories[1:])}
        if agreed:
            settle(agreed, set().union(*(h.notes for h in histories)))
            for h in histories:
                for q in agreed:
                    del h.labels[q]
        if len(histories) == 1:
            histories[0].notes = frozenset()
    settle(*_agreed(histories))
    unknown = sorted(q for q, v in decided.items() if v[0] == UNKNOWN)
    if unknown:
        shown = ", ".join(str(q) for q in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        notes.append(f"worker {w}: {len(unknown)} request(s) unknown ({shown})"
                     + (": " + "; ".join(sorted(why)[:3]) if why else ""))
    return decided


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
            "notes": list(labels.notes), "text": "; ".join(parts)}


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
    multiple of the batch the last worker holds fewer requests than a batch."""
    if batch_size <= 1 or nireq % batch_size == 0:
        return [], ""
    full = nireq // batch_size * batch_size
    slots = list(range(full, nireq))
    fix = full + batch_size
    which = "slot" if len(slots) == 1 else "slots"
    text = (f"{which} {_ranges(slots)} can never fill a batch of {batch_size} (their worker "
            f"gets only {len(slots)} of the queue's {nireq} requests): each request there "
            f"waits for the AUTO_BATCH_TIMEOUT timer and runs alone; use nireq={fix}")
    return slots, text
