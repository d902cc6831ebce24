"""Where AUTO moved from its CPU helper to the accelerator, placed only as exactly as the
readings of ``EXECUTION_DEVICES`` allow.

How AUTO reports it (OpenVINO ``src/plugins/auto/src/auto_schedule.cpp`` and
``auto_compiled_model.cpp``): while the accelerator compiles, a CPU "helper" runs the
requests and ``EXECUTION_DEVICES`` reads ``(CPU)``. Once the accelerator is ready, new
requests go to it at once, but the property keeps reading ``(CPU)`` until AUTO has waited
for every helper request to finish and released the helper. So:

- a reading of the accelerator means the helper was gone then: a request submitted after
  it runs on the accelerator;
- the last ``(CPU)`` reading says the helper still existed, not that new requests still
  went to it: they may have moved up to one drain of the helper earlier;
- the helper is released as soon as it is idle once the accelerator is ready, so at any
  moment with no request in flight either the accelerator was not ready yet or the
  helper is released right after. The switch therefore came after the last such idle
  moment that precedes the last ``(CPU)`` reading (by more than the release's lag).

Requests whose time in flight overlaps that window are "during the switch": the records
cannot tell which device ran them.

When the accelerator compiled before the helper, the property reads the accelerator
first, then ``(CPU)`` once the helper is compiled, then the accelerator again once the
helper is released; AUTO sends every request to the accelerator from the moment it is
ready, so a request submitted after any reading of the accelerator ran there, whatever
the readings after it say.

How long the release may lag the helper's last completion is a thread's wake-up: the
allowance comes from the run's own data (as the batch labels' does), ``RELEASE_LAG_S``
only for runs saved without it.

How often it is read. While the helper exists (or before the first reading) the property
is read before every submit and after completions: the window is placed from those
readings. Once it names anything but the helper, it changes only when the helper appears
after all (the accelerator compiled first) or on AUTO's runtime fallback to another
device; it is then read at most every ``SETTLED_READ_S`` and once at the end of the run.
A request between two readings of the same device ran there (the property does not
return to a device it has left, except the accelerator after its helper, where every
request went to the accelerator anyway); one between two different readings gets
``UNKNOWN``: the readings cannot say on which side of the change it was.
"""

import bisect
import math
import threading

import numpy as np

from .device_names import device_text

HELPER = "(CPU)"  # how AUTO names its CPU helper in EXECUTION_DEVICES
DURING = "during the switch"
UNKNOWN = "unknown"  # a request between two different readings (see the module docstring)
# How long AUTO's release of an idle helper may lag: its thread has to be scheduled.
RELEASE_LAG_S = 0.02
# Once the property names a device other than the helper, it is read at most this often:
# a read costs the thread that makes it about 50-100 us of CPU (benchmarks/adds.py), and
# only a runtime fallback changes it then. A fallback is then placed within this much.
SETTLED_READ_S = 0.25
UNREAD = -2  # the code of a request whose device was not read


def normalise(name):
    """The device a reading names: AUTO's helper ``(CPU)`` is the CPU."""
    return "CPU" if name == HELPER else name


class DeviceLog:
    """Readings of a compiled model's ``EXECUTION_DEVICES`` from several threads.

    ``clock()`` gives seconds on the records' clock. Each reading returns a code into
    ``names`` (raw names, as OpenVINO gave them); ``runs`` keeps consecutive equal readings
    as [code, first_s, last_s, count]. The property is read under a lock, so the order of
    the readings is the order of their times."""

    def __init__(self, compiled, clock, first_name=None):
        self.compiled = compiled
        self.clock = clock
        self.names = [] if first_name is None else [first_name]
        self.runs = []
        self._lock = threading.Lock()
        self.settled = False  # the last reading named a device other than the helper
        self.last_s = -math.inf
        self.last_code = 0  # the last reading's code (before any: ``first_name``'s)

    def code_of(self, name):
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def read(self):
        """Read the property now; return the reading's code."""
        with self._lock:
            name = device_text(self.compiled.get_property("EXECUTION_DEVICES"))
            t = self.clock()
            code = self.code_of(name)
            if self.runs and self.runs[-1][0] == code:
                run = self.runs[-1]
                run[2] = t
                run[3] += 1
            else:
                self.runs.append([code, t, t, 1])
            self.last_s = t
            self.last_code = code
            self.settled = name != HELPER
        return code

    def read_if_due(self):
        """Read now while the helper may still be in use, otherwise at most every
        ``SETTLED_READ_S``; ``UNREAD`` when no reading was due."""
        if self.settled and self.clock() - self.last_s < SETTLED_READ_S:
            return UNREAD
        return self.read()

    def fill(self, codes, times_s):
        """``codes`` with each ``UNREAD`` replaced by the code of the readings around its
        time, or by the code of ``UNKNOWN`` where they differ or one side is missing."""
        codes = np.asarray(codes).copy()
        unread = np.flatnonzero(codes == UNREAD)
        if not unread.size:
            return codes
        unknown = self.code_of(UNKNOWN)
        firsts = [r[1] for r in self.runs]
        for i in unread.tolist():
            t = float(times_s[i])
            k = bisect.bisect_right(firsts, t) - 1
            inside = k >= 0 and not math.isnan(t) and t <= self.runs[k][2]
            codes[i] = self.runs[k][0] if inside else unknown
        return codes

    def summary(self):
        """The runs of equal readings, for summary.json."""
        return [{"device": self.names[c], "first_s": a, "last_s": b, "readings": n}
                for c, a, b, n in self.runs]


def last_idle_s(submitted_s, completed_s, before_s):
    """The latest moment no later than ``before_s`` with no request in flight.

    A request is in flight from its submit until its completion (forever if it never
    completed); before the first submit nothing is."""
    sub = np.asarray(submitted_s, dtype=float)
    done = np.asarray(completed_s, dtype=float)
    keep = ~np.isnan(sub) & (sub <= before_s)
    sub, done = sub[keep], np.where(np.isnan(done[keep]), np.inf, done[keep])
    if not sub.size:
        return before_s
    order = np.argsort(sub, kind="stable")
    sub, done = sub[order], done[order]
    # the busy stretch containing ``before_s`` starts at the last submit made when every
    # earlier request had already completed
    reach = np.maximum.accumulate(done)
    if reach[-1] <= before_s:
        return before_s
    starts = np.flatnonzero(np.concatenate([[True], sub[1:] >= reach[:-1]]))
    return float(sub[starts[-1]])


def first_accelerator(readings):
    """``(device, first_s)`` of the first reading that names the accelerator, or None."""
    for r in readings or []:
        if r["device"] != HELPER:
            return r["device"], r["first_s"]
    return None


def switch_window(readings, submitted_s, completed_s, lag_s=RELEASE_LAG_S):
    """The window holding AUTO's move from its helper to an accelerator, or None.

    ``readings``: ``DeviceLog.summary()`` (time order). The window ends at the first
    reading of the accelerator and starts at the last idle moment before the last helper
    reading that precedes it, less ``lag_s`` (see the module docstring). No window when
    the accelerator was read before any helper reading: it was ready first."""
    readings = list(readings or [])
    helper_seen = None
    for k, r in enumerate(readings):
        if r["device"] == HELPER:
            helper_seen = k
        elif helper_seen is None:
            return None  # the accelerator was ready before the helper: no switch to place
        else:
            last_helper_s = readings[helper_seen]["last_s"]
            first_s = r["first_s"]
            start_s = last_idle_s(submitted_s, completed_s, last_helper_s - lag_s)
            return {"start_s": start_s, "end_s": first_s, "from": normalise(HELPER),
                    "to": r["device"], "last_helper_reading_s": last_helper_s,
                    "first_reading_s": first_s}
    return None


def _us(seconds):
    # records.csv keeps microseconds: compared in whole microseconds, a saved run gives
    # the same answer as the live one (rounding keeps every <= between two times)
    return np.round(np.asarray(seconds, dtype=float) * 1e6)


def during(window, submitted_s, completed_s):
    """Mask of the requests in flight at some time inside ``window``."""
    sub = _us(submitted_s)
    done = _us(completed_s)
    if not window:
        return np.zeros(sub.shape, dtype=bool)
    done = np.where(np.isnan(done), np.inf, done)
    return (sub < _us(window["end_s"])) & (done > _us(window["start_s"]))


def placed(devices, window, submitted_s, completed_s, readings=None):
    """Each request's device, or DURING where the window leaves it undecided. With the
    ``readings``, a request submitted after the first reading of the accelerator is placed
    there, whatever was read at its own submit (see the module docstring), until a reading
    of another device than the accelerator and its helper (a runtime fallback)."""
    devices = np.asarray(devices, dtype=object).copy()
    devices[during(window, submitted_s, completed_s)] = DURING
    first = first_accelerator(readings)
    if first is not None:
        name, first_s = first
        until = math.inf  # the last reading before a fallback: past it the readings decide
        for before, r in zip(readings, readings[1:]):
            if r["first_s"] > first_s and r["device"] not in (HELPER, name):
                until = before["last_s"]
                break
        sub = _us(submitted_s)
        devices[(sub > _us(first_s)) & (sub <= _us(until))] = name
    return devices
