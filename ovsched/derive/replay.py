"""The replay of one batch worker's rules over its requests' records (see labels.py).

Every time is an interval (earliest, latest) in seconds. A history is one possible course of
the worker; where an event could fall either side of another, both courses are followed and
a course contradicted by a recorded time is dropped.
"""

import math

import numpy as np

# Histories followed at once for one worker before giving up on it (then: unknown).
MAX_HISTORIES = 256

BATCHED, TIMEOUT, UNKNOWN = "batched", "timeout", "unknown"


class _History:
    """One possible history of a worker up to now; times are (earliest, latest) seconds."""

    __slots__ = ("batch", "batch_done", "expiry", "flush", "flush_end", "labels", "launch",
                 "notes", "unwatched", "waiting")

    def __init__(self, expiry, unwatched):
        self.waiting = ()  # requests queued and not launched, in arrival order
        self.expiry = expiry  # the running timer's deadline; None while a flush blocks
        self.unwatched = unwatched  # until the thread first waits: a notify is lost
        self.flush = None  # members of the flush the worker is blocked in
        self.flush_end = None
        self.batch = None  # members of the batched inference in flight
        self.batch_done = None
        self.labels = {}  # request -> (kind, members) or (UNKNOWN,)
        self.launch = {}  # members -> when they were launched
        self.notes = frozenset()

    def copy(self):
        h = _History.__new__(_History)
        for name in _History.__slots__:
            setattr(h, name, getattr(self, name))
        h.labels = dict(self.labels)
        h.launch = dict(self.launch)
        return h

    def key(self):
        return (self.waiting, self.flush, self.batch, self.expiry is None,
                self.unwatched is None)


def hull(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def merge(histories):
    """Join histories that left the worker in the same state; their labels must agree."""
    groups = {}
    for h in histories:
        g = groups.get(h.key())
        if g is None:
            groups[h.key()] = h
            continue
        for name in ("expiry", "flush_end", "batch_done", "unwatched"):
            mine, theirs = getattr(g, name), getattr(h, name)
            if mine is not None and theirs is not None:
                setattr(g, name, hull(mine, theirs))
        for r in set(g.labels) | set(h.labels):
            if g.labels.get(r) != h.labels.get(r):
                g.labels[r] = (UNKNOWN,)
        for m in set(g.launch) | set(h.launch):
            g.launch[m] = hull(g.launch.get(m), h.launch.get(m))
        g.notes = g.notes | h.notes
    return list(groups.values())


class Worker:
    """Replays one worker's rules over its requests' records.

    ``allowance_s``: how late a worker's wake may be after what woke it (a notify, its
    timer's deadline) and how long after its submit stamp a request may reach the plugin's
    queue: seconds, or a function of a time interval (lo, hi) giving them there.
    ``lag_s``: per request, how far its recorded completion may lag the end of its
    inference (measured per request, or the allowance where it was not). ``compute_s``: per
    request, how long its inference computed at least (0 where unknown). ``spread_s``: how
    far apart the completions of one batch may be recorded."""

    def __init__(self, number, batch_size, timeout_s, allowance_s, completed_s, lag_s,
                 compute_s, slot, spread_s):
        self.number = number
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.allow = allowance_s if callable(allowance_s) else (lambda lo, hi: allowance_s)
        self.completed_s = completed_s
        self.lag_s = lag_s
        self.compute_s = compute_s
        self.slot = slot
        self.spread_s = spread_s

    def ends(self, members, launch_lo):
        """When the notify after ``members`` all completed can come, or None if a recorded
        completion precedes the launch plus the inference's own time (impossible)."""
        idx = list(members)
        done = self.completed_s[idx]
        seen = ~np.isnan(done)
        # a batch's members may read another inference's profile: its least is safe
        compute = float(self.compute_s[idx].min())
        if seen.any() and done[seen].min() - compute < launch_lo:
            return None
        if not seen.all():
            return (max(launch_lo, done[seen].max()) if seen.any() else launch_lo, math.inf)
        last = float(done.max())
        a = self.allow(last, last)
        earliest = float((done - self.lag_s[idx]).max()) - a
        return (max(launch_lo, earliest), last + a)

    def _restart(self, wake):
        hi = wake[1] + self.timeout_s
        return (wake[0] + self.timeout_s, hi + self.allow(wake[0] + self.timeout_s, hi))

    def _launch_batch(self, h, when):
        ends = self.ends(h.waiting, when[0])
        done = self.completed_s[list(h.waiting)]
        done = done[~np.isnan(done)]
        # one inference, then its callbacks one after another: they cannot spread far,
        # though a busy machine can hold that thread back for a while between two
        if ends is None or (done.size and done.max() - done.min() > self.spread_s):
            return False
        for r in h.waiting:
            h.labels[r] = (BATCHED, h.waiting)
        h.launch[h.waiting] = when
        h.batch, h.batch_done, h.waiting = h.waiting, ends, ()
        h.expiry = self._restart(when)
        return True

    def _idle_expiry(self, h, lo, hi):
        """The first expiry after an arrival at [lo, hi] to a worker with nothing waiting,
        whose timer runs idle from ``h.expiry`` (ticking every timeout meanwhile)."""
        x_lo, x_hi = h.expiry
        period_lo = self.timeout_s
        period_hi = self.timeout_s + self.allow(x_lo, hi + self.timeout_s)
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
        if kind == "wait":
            h.unwatched = None
            return True
        if kind == "arrival":
            if not h.waiting and h.flush is None:
                h.expiry = self._idle_expiry(h, *when)
            h.waiting = h.waiting + (request,)
            if (len(h.waiting) == self.batch_size and h.flush is None
                    and h.unwatched is None):
                # the worker wakes on the notify: a little after the request was queued
                return self._launch_batch(h, (when[0], when[1] + self.allow(*when)))
            return True
        if kind == "expiry":
            h.unwatched = None
            if len(h.waiting) == self.batch_size:  # the notify was lost: found full
                return self._launch_batch(h, when)
            ends = self.ends(h.waiting, when[0])
            if ends is None:
                return False
            for r in h.waiting:
                h.labels[r] = (TIMEOUT, h.waiting)
            h.launch[h.waiting] = when
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
        if h.unwatched is not None and (arrival is not None or h.waiting):
            events.append(("wait", h.unwatched))
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
                        attr = "unwatched" if name == "wait" else name
                        setattr(g, attr, (max(w[0], when[0]), w[1]))
                if not self._apply(g, kind, when, request):
                    continue
                if kind == "arrival":
                    done.append(g)
                else:
                    rest = None if arrival is None else (max(arrival[0], when[0]), arrival[1])
                    work.append((g, rest))
        return done

    def _ambiguity_note(self, firsts, request, arrival):
        kinds = {k: w for k, w in firsts if k != "wait"}
        if len(kinds) < 2:
            return None
        w = f"worker {self.number}"
        if "arrival" in kinds and "expiry" in kinds:
            x = kinds["expiry"]
            return (f"{w}: request {request} (slot {self.slot[request]}) was queued at "
                    f"{arrival[0]:.3f}-{arrival[1]:.3f} s and its timer expired at "
                    f"{x[0]:.3f}-{x[1]:.3f} s: too close to tell which came first")
        names = {"arrival": f"request {request} arrived", "expiry": "the timer expired",
                 "flush_end": "a flush ended", "batch_done": "a batch completed"}
        said = " / ".join(f"{names[k]} at {v[0]:.3f}-{v[1]:.3f} s" for k, v in kinds.items())
        return f"{w}: cannot order these events: {said}"


def replay_worker(worker, requests, arrivals, start, notes):
    """Verdicts {request: (kind, members)} and launches {members: (lo, hi)} for one
    worker's requests (in arrival order), or None when no history under the rules fits the
    records. ``start``: when the worker's requests were created (its thread then starts
    and first waits, within the allowance)."""
    t = worker.timeout_s
    a = worker.allow(*start)
    unwatched = (start[0], start[1] + a)
    first = unwatched[1] + t
    histories = [_History((start[0] + t, first + worker.allow(start[0] + t, first)),
                          unwatched)]
    decided, launches, why = {}, {}, set()

    def settle(labels, reasons, hs):
        decided.update(labels)
        for v in labels.values():
            if v[0] != UNKNOWN:
                for h in hs:
                    launches[v[1]] = hull(launches.get(v[1]), h.launch.get(v[1]))
        if any(v[0] == UNKNOWN for v in labels.values()):
            why.update(reasons)

    for r, when in list(zip(requests, arrivals)) + [(None, None)]:
        after = []
        for h in histories:
            after.extend(worker.advance(h, r, when))
        histories = merge(after)
        if not histories:
            return None
        if len(histories) > MAX_HISTORIES:
            notes.append(f"worker {worker.number}: over {MAX_HISTORIES} possible histories "
                         f"from request {r} on; its labels from there are unknown")
            return ({int(q): decided.get(int(q), (UNKNOWN,)) for q in requests}, launches)
        # a label, once given, never changes within a history: where all agree, it is final
        agreed = {q: v for q, v in histories[0].labels.items()
                  if all(h.labels.get(q) == v for h in histories[1:])}
        if agreed:
            settle(agreed, set().union(*(h.notes for h in histories)), histories)
            for h in histories:
                for q in agreed:
                    del h.labels[q]
        if len(histories) == 1:
            histories[0].notes = frozenset()
    rest = {}
    for q in set().union(*(h.labels for h in histories)):
        seen = {h.labels.get(q) for h in histories}
        rest[q] = seen.pop() if len(seen) == 1 else (UNKNOWN,)
    settle(rest, set().union(*(h.notes for h in histories)), histories)
    unknown = sorted(q for q, v in decided.items() if v[0] == UNKNOWN)
    if unknown:
        shown = ", ".join(str(q) for q in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        notes.append(f"worker {worker.number}: {len(unknown)} request(s) unknown ({shown})"
                     + (": " + "; ".join(sorted(why)[:3]) if why else ""))
    return decided, launches
