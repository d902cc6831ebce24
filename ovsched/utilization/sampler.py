"""The sampling thread: every ``util_ms`` it reads each reader's counters and stores the rates
over the period just ended as long-format samples (time_s, source, value)."""

import re
import sys
import threading
import time
import warnings
from functools import partial

from . import cpu
from ._common import proc_root, sys_root

# A reader with a minimum period of its own (the NPU) is read on the first tick that comes
# no earlier than this fraction of a tick before that period is up.
_EARLY_FRACTION = 0.5


def make_readers(platform=None):
    """The readers for this OS, and {source: reason} for what this OS cannot read at all."""
    platform = platform or sys.platform
    readers = [cpu.Reader()]
    unavailable = {}
    if platform.startswith("linux"):
        from . import linux_drm, linux_npu
        readers += [linux_drm.Reader(proc_root(), sys_root()), linux_npu.Reader(sys_root())]
    elif platform == "win32":
        from . import windows_pdh
        readers.append(windows_pdh.Reader())
    else:
        unavailable["gpu"] = unavailable["npu"] = f"no GPU or NPU reader for {platform}"
    return readers, unavailable


def drop_awake_where_engines(samples):
    """Columns without ``gpu.awake[@k]`` of a card that also has this process's own engine
    sources (``gpu.<class>[@k]``): the whole-card figure is only the fallback."""
    card = re.compile(r"^gpu\.([^@]+)(@\d+)?$")
    with_engines = set()
    for source in set(samples["source"]):
        m = card.match(source)
        if m and m.group(1) != "awake":
            with_engines.add(m.group(2) or "")
    drop = {"gpu.awake" + suffix for suffix in with_engines}
    keep = [i for i, s in enumerate(samples["source"]) if s not in drop]
    return {k: [v[i] for i in keep] for k, v in samples.items()}, drop


def _matches_any(key, sources):
    """Whether a note's key names one of ``sources``; ``<class>`` in it stands for any class."""
    if "<class>" not in key:
        return key in sources
    pattern = re.compile("^" + re.escape(key).replace(re.escape("<class>"), "[^@]+") + "$")
    return any(pattern.match(s) for s in sources)


class Sampler:
    """Samples device utilization on a daemon thread from ``start()`` to ``stop()``.

    Times are ``time.perf_counter() - t0_perf`` (the run's clock: negative before the run's
    start); a sample is stamped at the end of the period whose average it is.
    ``unavailable`` maps a source to why it is missing, ``notes`` a source to what it
    measures, ``warnings`` lists readers that failed and were dropped, ``cpu_s`` is the thread's
    own CPU time and ``wall_s`` its lifetime."""

    def __init__(self, util_ms, readers=None, on_warning=None):
        if not isinstance(util_ms, (int, float)) or not util_ms > 0:
            raise ValueError(f"util_ms must be a number > 0, not {util_ms!r}")
        self.period_s = util_ms / 1000.0
        if readers is None:
            readers, self._static = make_readers()
        else:
            self._static = {}
        self.readers = []
        for reader in readers:
            if reader.active:
                self.readers.append(reader)
            else:
                self._static.update(reader.unavailable())
        self._failed = {}
        self.notes = {}
        self.warnings = []
        self.on_warning = on_warning
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self.t0_perf = None
        self._columns = {"time_s": [], "source": [], "value": []}
        self._latest = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.stopped = False
        self._settle()

    def start(self, t0_perf=None):
        """Start sampling; ``t0_perf`` is the run's origin (default: now)."""
        self.t0_perf = time.perf_counter() if t0_perf is None else t0_perf
        self._thread = threading.Thread(target=self._loop, name="ovsched-util", daemon=True)
        self._thread.start()
        return self

    def set_origin(self, t0_perf):
        """Move the time origin (the run's start, known only after compiling), shifting the
        samples already taken."""
        with self._lock:
            shift = self.t0_perf - t0_perf
            self._columns["time_s"] = [t + shift for t in self._columns["time_s"]]
            self._latest = {s: (t + shift, v) for s, (t, v) in self._latest.items()}
            self.t0_perf = t0_perf

    def stop(self):
        """Stop the thread, take a last sample, and settle ``unavailable`` and ``notes``;
        a second call does nothing."""
        if self.stopped:
            return self
        self.stopped = True
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        with self._lock:
            self._columns, dropped = drop_awake_where_engines(self._columns)
            for source in dropped:
                self._latest.pop(source, None)
        self._settle()
        for source in dropped:
            self.notes[source] = "not kept: this process's own engine counters were read"
        return self

    def _settle(self):
        """Recompute ``unavailable`` and ``notes`` from the readers and the samples so far."""
        unavailable, notes = dict(self._static), {}
        for reader in list(self.readers):
            reasons, ok = self._guard(reader, reader.unavailable)
            meanings, ok2 = self._guard(reader, reader.notes) if ok else (None, False)
            if ok and ok2:
                unavailable.update(reasons)
                notes.update(meanings)
        present = set(self.samples()["source"])
        self.unavailable = {k: v for k, v in unavailable.items() if k not in present}
        # a reader that failed may have sampled before: its reason stays
        self.unavailable.update(self._failed)
        self.notes = {k: v for k, v in notes.items() if _matches_any(k, present)}

    def samples(self, since=0):
        """The samples from row ``since`` on, as columns {time_s, source, value} of lists."""
        with self._lock:
            return {k: v[since:] for k, v in self._columns.items()}

    def latest(self):
        """{source: (time_s, value)} of the newest sample of each source."""
        with self._lock:
            return dict(self._latest)

    def _warn(self, message):
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def _guard(self, reader, call):
        try:
            return call(), True
        except Exception as e:  # noqa: BLE001 -- a failing reader must never stop the run
            self._warn(f"utilization: {reader.name} reader failed ({type(e).__name__}: {e}); "
                       "its sources stop here")
            when = "" if self.t0_perf is None else \
                f" at {time.perf_counter() - self.t0_perf:.3f} s"
            self._failed.setdefault(reader.name,
                                    f"reader failed{when}: {type(e).__name__}: {e}")
            if reader in self.readers:
                self.readers.remove(reader)
            return None, False

    def _read_all(self, state, final=False):
        for reader in list(self.readers):
            now = time.perf_counter()
            last = state.get(reader)
            early_s = _EARLY_FRACTION * self.period_s
            if last is not None:
                # the last reading may be cut short, but not to a period too short to measure
                wanted_s = early_s if final else reader.min_period_s - early_s
                if now - last[0] < max(wanted_s, 0.0):
                    continue
            counters, ok = self._guard(reader, reader.read)
            if not ok:
                continue
            state[reader] = (now, counters)
            if last is None:
                continue
            rates, ok = self._guard(reader, partial(reader.rates, last[1], counters, now - last[0]))
            if ok and rates:
                self._store(now, rates)

    def _store(self, now, rates):
        with self._lock:
            t = now - self.t0_perf
            cols = self._columns
            for source, value in rates.items():
                cols["time_s"].append(t)
                cols["source"].append(source)
                cols["value"].append(float(value))
                self._latest[source] = (t, float(value))

    def _loop(self):
        cpu0_s, wall0_s = time.thread_time(), time.perf_counter()
        state = {}  # reader -> (perf time, counters) of its last reading
        next_s = wall0_s
        try:
            self._read_all(state)
            while True:
                next_s += self.period_s
                now = time.perf_counter()
                if next_s < now:  # late: skip the missed ticks rather than bunching up
                    next_s = now + self.period_s - (now - next_s) % self.period_s
                if self._stop.wait(next_s - now):
                    break
                self._read_all(state)
            self._read_all(state, final=True)
        finally:
            self.cpu_s += time.thread_time() - cpu0_s
            self.wall_s += time.perf_counter() - wall0_s
