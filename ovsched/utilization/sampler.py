"""The sampling thread: every ``util_ms`` it reads each reader whose own period is up (the
GPU readers every ``gpu_util_ms``, the NPU about once a second) and stores what the period
just ended gives as long-format samples (time_s, source, value, period_s, uncapped)."""

import re
import sys
import threading
import time
import warnings

from . import cpu
from ._common import proc_root, sys_root
from .track import Track, append, empty

# A reader with a minimum period of its own (GPU, NPU) is read on the first tick that comes
# no earlier than this fraction of a tick before that period is up.
_EARLY_FRACTION = 0.5
# The GPU readers' own period. intel_gpu_top and igt's gputop refresh once a second by
# default; each xe fdinfo read takes a runtime-PM reference and forcewake and walks the
# client's buffers (its authors expect a reading every few seconds), reading RC6 wakes the
# device, and collecting PDH's GPU Engine counters is expensive.
GPU_UTIL_MS = 1000.0


def make_readers(platform=None, npu_luids=()):
    """The readers for this OS, and {source: reason} for what this OS cannot read at all.
    ``npu_luids`` (Windows): OpenVINO's ``DEVICE_LUID`` of the NPU, which names its adapter."""
    platform = platform or sys.platform
    readers = [cpu.Reader()]
    unavailable = {}
    if platform.startswith("linux"):
        from . import linux_drm, linux_npu
        readers += [linux_drm.Reader(proc_root(), sys_root()), linux_npu.Reader(sys_root())]
    elif platform == "win32":
        from . import windows_pdh
        readers.append(windows_pdh.Reader(npu_luids=npu_luids))
    else:
        unavailable["gpu"] = unavailable["npu"] = f"no GPU or NPU reader for {platform}"
    return readers, unavailable


_GPU_SOURCE = re.compile(r"^gpu\.([^@]+)(@\d+)?$")


def drop_awake_where_engines(samples):
    """Columns without ``gpu.awake[.gtN][@k]`` of a card that also has this process's own
    engine sources (``gpu.<class>[@k]``): the whole-card figures are only the fallback."""
    with_engines, awake = set(), {}
    for source in set(samples["source"]):
        m = _GPU_SOURCE.match(source)
        if not m:
            continue
        if m.group(1) == "awake" or m.group(1).startswith("awake."):
            awake[source] = m.group(2) or ""
        else:
            with_engines.add(m.group(2) or "")
    drop = {source for source, card in awake.items() if card in with_engines}
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
    start); a sample is stamped at the end of the period whose average it is, and
    ``period_s`` says how long that period was. A percent value outside 0-100 is shown capped
    and ``uncapped`` keeps what was measured (None where no cap applied). ``unavailable``
    maps a source to why it is missing, ``notes`` a source to what it measures, ``warnings``
    lists readers that failed and were dropped, ``cpu_s`` is the thread's own CPU time and
    ``wall_s`` its lifetime. With ``capture``, ``raw`` keeps every reading as (perf time,
    reader index, what the reader fetched) for ``capture.write_raw``."""

    def __init__(self, util_ms, readers=None, on_warning=None, gpu_util_ms=GPU_UTIL_MS,
                 capture=False, npu_luids=()):
        if not isinstance(util_ms, (int, float)) or not util_ms > 0:
            raise ValueError(f"util_ms must be a number > 0, not {util_ms!r}")
        if not isinstance(gpu_util_ms, (int, float)) or not gpu_util_ms > 0:
            raise ValueError(f"gpu_util_ms must be a number > 0, not {gpu_util_ms!r}")
        self.period_s = util_ms / 1000.0
        self.gpu_period_s = max(gpu_util_ms, util_ms) / 1000.0
        if readers is None:
            readers, self._static = make_readers(npu_luids=npu_luids)
        else:
            self._static = {}
        self.all_readers = list(readers)
        self.readers = []
        for reader in readers:
            if reader.active:
                if getattr(reader, "gpu_period", False):
                    reader.min_period_s = self.gpu_period_s
                self.readers.append(reader)
            else:
                self._static.update(reader.unavailable())
        self.tracks = {reader: Track(reader) for reader in self.readers}
        self.raw = [] if capture else None
        self._failed = {}
        self.notes = {}
        self.warnings = []
        self.on_warning = on_warning
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self.t0_perf = None
        self._columns = empty()
        self._latest = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition()
        self._stop_asked = False
        self._poke_asked = False
        self._pokes_done = 0
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

    def read_now(self):
        """Have the thread read every reader now, whatever their periods, and wait until it
        has: a moment such as the compile's end then ends a sample however short it was."""
        thread = self._thread
        if thread is None or self.stopped:
            return
        with self._wake:
            self._poke_asked = True
            done = self._pokes_done
            self._wake.notify_all()
            while self._pokes_done == done and thread.is_alive():
                self._wake.wait(0.5)

    def stop(self):
        """Stop the thread, take a last sample, close the readers, and settle
        ``unavailable`` and ``notes``; a second call does nothing."""
        if self.stopped:
            return self
        self.stopped = True
        if self._thread is not None:
            with self._wake:
                self._stop_asked = True
                self._wake.notify_all()
            self._thread.join()
            self._thread = None
        with self._lock:
            self._columns, dropped = drop_awake_where_engines(self._columns)
            for source in dropped:
                self._latest.pop(source, None)
        self._settle()
        for reader in self.all_readers:
            self._close(reader)
        for source in dropped:
            self.notes[source] = "not kept: this process's own engine counters were read"
        return self

    def _close(self, reader):
        close = getattr(reader, "close", None)
        if close is not None:
            try:
                close()
            except Exception as e:  # noqa: BLE001 -- closing must not fail the run
                self._warn(f"utilization: closing the {reader.name} reader failed "
                           f"({type(e).__name__}: {e})")

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
        """The samples from row ``since`` on, as columns {time_s, source, value, period_s,
        uncapped} of lists."""
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

    def _guard(self, reader, call, *args):
        try:
            return call(*args), True
        except Exception as e:  # noqa: BLE001 -- a failing reader must never stop the run
            self._warn(f"utilization: {reader.name} reader failed ({type(e).__name__}: {e}); "
                       "its sources stop here")
            when = "" if self.t0_perf is None else \
                f" at {time.perf_counter() - self.t0_perf:.3f} s"
            self._failed.setdefault(reader.name,
                                    f"reader failed{when}: {type(e).__name__}: {e}")
            if reader in self.readers:
                self.readers.remove(reader)
                self._close(reader)
            return None, False

    def _due(self, reader, now, how):
        """Whether ``reader`` is read at ``now``: on its own period (``how`` "tick"), at the
        last reading if not just read ("final"), always when asked to ("now")."""
        last = self.tracks[reader].last
        if last is None or how == "now":
            return True
        early_s = _EARLY_FRACTION * self.period_s
        # the last reading may be cut short, but not to a period too short to measure
        wanted_s = early_s if how == "final" else reader.min_period_s - early_s
        return now - last[0] >= max(wanted_s, 0.0)

    def _read_all(self, how="tick"):
        for index, reader in enumerate(self.all_readers):
            if reader not in self.readers:
                continue
            now = time.perf_counter()
            if not self._due(reader, now, how):
                continue
            raw, ok = self._guard(reader, getattr(reader, "fetch", None) or reader.read)
            if not ok or raw is None:  # None: nothing to read this time (PDH has no data)
                continue
            if self.raw is not None:
                self.raw.append((now, index, raw))
            got, ok = self._guard(reader, self.tracks[reader].take, now, raw)
            if ok and got:
                self._store(now, got)

    def _store(self, now, got):
        with self._lock:
            t = now - self.t0_perf
            append(self._columns, t, got)
            for source, value, _, _ in got:
                self._latest[source] = (t, value)

    def _loop(self):
        cpu0_s, wall0_s = time.thread_time(), time.perf_counter()
        next_s = wall0_s
        try:
            self._read_all()
            while True:
                next_s += self.period_s
                now = time.perf_counter()
                if next_s < now:  # late: skip the missed ticks rather than bunching up
                    next_s = now + self.period_s - (now - next_s) % self.period_s
                with self._wake:
                    self._wake.wait_for(lambda: self._stop_asked or self._poke_asked,
                                        max(next_s - now, 0.0))
                    stop, poke = self._stop_asked, self._poke_asked
                if stop:
                    break
                if poke:
                    self._read_all("now")
                    with self._wake:
                        self._poke_asked = False
                        self._pokes_done += 1
                        self._wake.notify_all()
                    next_s -= self.period_s  # the regular tick still comes when it was due
                    continue
                self._read_all()
            self._read_all("final")
        finally:
            self.cpu_s += time.thread_time() - cpu0_s
            self.wall_s += time.perf_counter() - wall0_s
            with self._wake:
                self._wake.notify_all()
