"""Per-request compute time from OpenVINO's own profiling, read where it costs no request.

With ``PERF_COUNT=YES`` each infer request lists every operation's ``real_time``
(``profiling_info``). Reading the list costs about half a millisecond of Python per request,
so it is read on a thread of its own: not on OpenVINO's callback thread (which must return
at once), not on the submit thread. The list describes the request's last inference only
until its slot runs again, so a per-slot gate keeps the submit thread from reusing a slot
whose profile is still unread; every wait that causes is counted.

On the CPU the counters belong to the stream's graph, not to the request: an inference that
runs on the same stream before the list is read overwrites it. Which profiles are provably a
request's own is decided after the run (derive/profiles.py) from the times recorded here.
"""

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..derive.device_names import split_device
from .schema import check_profile as check_setting

STOP_CHECK_S = 0.05
OFF_WORDS = ("NO", "FALSE")


@dataclass
class Decision:
    """Whether this run reads profiles, why, and the properties to compile with."""

    setting: str
    on: bool
    why: str
    properties: dict = field(default_factory=dict)
    perf_count: str = None  # what PERF_COUNT was compiled with, and who set it

    def block(self):
        return {"setting": self.setting, "on": self.on, "why": self.why,
                "perf_count": self.perf_count}


def decide(setting, device, properties, available):
    """Turn ``profile`` (auto/on/off) into a Decision for ``device``.

    ``auto`` is on where every device the string can run on is the CPU (alone, under
    BATCH: or AUTO/MULTI; a bare AUTO counts the machine's devices): profiling is measured
    here on the CPU only. A PERF_COUNT the user gave is kept as given."""
    setting = check_setting(setting)
    names = [name for name, _ in split_device(device)] or list(available)
    cpu_only = bool(names) and all(n.split(".")[0] == "CPU" for n in names)
    given = properties.get("PERF_COUNT")
    props = dict(properties)
    if setting == "off":
        return Decision(setting, False, "profile=off", props,
                        f"{given} (given)" if given else None)
    if setting == "auto" and not cpu_only:
        return Decision(setting, False, f"profile=auto reads profiles on the CPU only, and "
                        f"{device} can run on {', '.join(names) or 'no device'}: use "
                        f"--profile=on to read them there", props,
                        f"{given} (given)" if given else None)
    if given is not None and str(given).upper() in OFF_WORDS:
        return Decision(setting, False, f"PERF_COUNT={given} was given: no profiles to read",
                        props, f"{given} (given)")
    if given is None:
        props["PERF_COUNT"] = "YES"
    why = f"profile={setting}" + (" (the device is the CPU)" if setting == "auto" else "")
    return Decision(setting, True, why, props,
                    f"{given} (given)" if given is not None else "YES (added by profile)")


class ProfileReader:
    """Reads each completed request's profile on its own thread, behind per-slot gates.

    The submit thread calls ``claim`` before each submit; the completion callback calls
    ``completed()``; ``slot_of[i]`` is the slot of request i; ``completions()`` gives the
    runner's list of completed request ids, asked anew each time. Results:
    ``read_s`` (when the reading ended, on the records' clock), ``sum_ms`` (the sum of the
    operations' ``real_time``), ``key_id`` (equal lists share an id), all per request.
    ``busy()``, when given, is true while another request is in flight: the profile is
    then skipped (``skipped``), for it cannot be the request's own."""

    def __init__(self, requests, niter, clock, slot_of, completions, busy=None, favour=None):
        self.requests = list(requests)
        self.clock = clock
        self.slot_of = slot_of
        self.completions = completions  # () -> the runner's list of completed request ids
        self.read_s = np.full(niter, np.nan)
        self.sum_ms = np.full(niter, np.nan)
        self.key_id = np.full(niter, -1, dtype=int)
        self.gate_wait_ms = np.zeros(niter)
        self.errors = []
        self.cpu_s = 0.0  # the thread's whole CPU time
        self.read_cpu_s = 0.0  # of which in reading the lists
        # where no batching is: another request in flight makes a profile not provably
        # the request's own, so it is not read at all (derive/profiles.py decides the rest)
        self.busy = busy
        self.skipped = np.zeros(niter, dtype=bool)
        # the submit thread's priority, where it has one: a gate waits for this thread, and
        # on a busy machine a thread of default priority can wait tens of ms for a core
        self.favour = favour
        self.priority = "default"
        self._ids = {}
        self._free = [threading.Event() for _ in self.requests]
        for gate in self._free:
            gate.set()
        self._wake = threading.Event()
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="profile reader", daemon=True)

    def start(self):
        self._thread.start()

    def completed(self):
        """From the completion callback: wake the reader (nothing else)."""
        self._wake.set()

    def claim(self, slot, request, owner_done, stop):
        """Before request ``request`` is submitted into ``slot``: wait until the slot's last
        profile was read (unless its last request never completed: nothing to read)."""
        gate = self._free[slot]
        if not gate.is_set() and owner_done:
            started = time.perf_counter()
            while not gate.wait(STOP_CHECK_S):
                if stop.is_set() or not self._thread.is_alive():
                    break
            self.gate_wait_ms[request] = (time.perf_counter() - started) * 1e3
        gate.clear()

    def _read(self, i):
        slot = int(self.slot_of[i])
        if self.busy is not None and self.busy():
            self.skipped[i] = True
            self.read_s[i] = self.clock()
            self._free[slot].set()
            return
        cpu0 = time.thread_time()
        try:
            info = self.requests[slot].profiling_info
            real = tuple(p.real_time for p in info)
            key = real + tuple(p.cpu_time for p in info)
        except Exception as e:  # a device that keeps no counters: say so, read no more
            text = f"{type(e).__name__}: {e}".splitlines()[0]
            if text not in self.errors:
                self.errors.append(text)
            return
        finally:
            self.read_s[i] = self.clock()
            self._free[slot].set()
            self.read_cpu_s += time.thread_time() - cpu0
        if real:
            total = sum(real, real[0] * 0)
            self.sum_ms[i] = total.total_seconds() * 1e3
            # two hashes of the list (about 128 bits) stand for it: equal lists share an
            # id, and the reader keeps a few bytes a profile rather than the list itself
            digest = (hash(key), hash(key[::-1]))
            self.key_id[i] = self._ids.setdefault(digest, len(self._ids))
        elif "empty profile" not in self.errors:
            self.errors.append("empty profile")

    def _loop(self):
        if self.favour is not None:
            self.priority = self.favour()
        cpu0 = time.thread_time()
        seen = 0
        while True:
            ending = self._end.is_set()
            self._wake.wait(STOP_CHECK_S)
            self._wake.clear()
            done_order = self.completions()
            n = len(done_order)
            for i in done_order[seen:n]:
                self._read(i)
            seen = n
            self.cpu_s = time.thread_time() - cpu0
            if ending and len(self.completions()) == seen:
                return

    def finish(self):
        """After the last completion: read what is left and stop."""
        self._end.set()
        self._wake.set()
        self._thread.join()

    def columns(self, n):
        return {"profile_read_s": self.read_s[:n].copy(), "profile_sum_ms": self.sum_ms[:n].copy(),
                "profile_key": self.key_id[:n].copy(), "gate_wait_ms": self.gate_wait_ms[:n].copy()}

    def block(self, n):
        waits = self.gate_wait_ms[:n]
        waited = waits[waits > 0]
        read = int(np.sum(~np.isnan(self.sum_ms[:n])))
        return {"read": read, "skipped": int(self.skipped[:n].sum()),
                "reader_priority": self.priority,
                "errors": list(self.errors),
                "gate_waits": int(waited.size),
                "gate_wait_ms": {"total": float(waited.sum()),
                                 "max": float(waited.max()) if waited.size else 0.0},
                "reader_cpu_s": self.cpu_s,
                "reader_cpu_ms_per_request": self.cpu_s * 1e3 / n if n else None,
                "read_cpu_ms_per_read": self.read_cpu_s * 1e3 / read if read else None}
