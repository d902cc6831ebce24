"""How late a thread of normal priority wakes from a timed wait during the run.

The BATCH plugin's workers wait with ``wait_for(timeout)`` on threads of normal priority;
on a busy machine they wake late, and by how much is what the batch labels must allow for.
The plugin does not report it, so a thread of the same priority measures it beside the
run: it sleeps ``PERIOD_S`` again and again and records how much later than asked it woke.
Its own Python (the GIL) only adds to what it measures, so the figure errs on the large side.
"""

import threading
import time

import numpy as np

PERIOD_S = 0.002
# The latest wake is kept per window of this length, for allowances local in time.
WINDOW_S = 0.05


class WakeProbe:
    """Start before the run, stop after it; ``late_ms`` holds every wake's lateness."""

    def __init__(self, period_s=PERIOD_S):
        self.period_s = period_s
        self._late = []
        self._asked = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wake probe", daemon=True)
        self.cpu_s = 0.0

    def _loop(self):
        cpu0 = time.thread_time()
        while not self._stop.is_set():
            asked = time.perf_counter()
            time.sleep(self.period_s)
            self._late.append(time.perf_counter() - asked - self.period_s)
            self._asked.append(asked)
        self.cpu_s = time.thread_time() - cpu0

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self

    @property
    def late_ms(self):
        return np.maximum(np.asarray(self._late, dtype=float) * 1e3, 0.0)

    def windows(self, t0, window_s=WINDOW_S):
        """``(start_s, max_ms)``: from ``start_s`` (seconds after ``t0``), per window of
        ``window_s``, the latest wake of any sleep that should have ended in it or was
        still asleep in it."""
        n = min(len(self._asked), len(self._late))
        if not n:
            return None, []
        due = np.asarray(self._asked[:n]) + self.period_s - t0
        late = np.maximum(np.asarray(self._late[:n]), 0.0)
        start = float(due.min())
        first = np.floor((due - start) / window_s).astype(int)
        last = np.floor((due + late - start) / window_s).astype(int)
        out = np.zeros(int(last.max()) + 1)
        for a, b, v in zip(first, last, late):
            out[a:b + 1] = np.maximum(out[a:b + 1], v)
        return start, (out * 1e3).round(3).tolist()

    def summary(self, t0=None):
        """For summary.json: how many wakes, their lateness (ms), and with ``t0`` (the
        records' clock) the latest wake per window."""
        late = self.late_ms
        if not late.size:
            return {"wakes": 0, "period_ms": self.period_s * 1e3}
        out = {"wakes": int(late.size), "period_ms": self.period_s * 1e3,
               "p50_ms": float(np.percentile(late, 50)),
               "p99_ms": float(np.percentile(late, 99)), "max_ms": float(late.max()),
               "cpu_s": self.cpu_s}
        if t0 is not None:
            start, maxima = self.windows(t0)
            out.update(window_ms=WINDOW_S * 1e3, windows_start_s=start,
                       windows_max_ms=maxima)
        return out
