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


class WakeProbe:
    """Start before the run, stop after it; ``late_ms`` holds every wake's lateness."""

    def __init__(self, period_s=PERIOD_S):
        self.period_s = period_s
        self._late = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wake probe", daemon=True)
        self.cpu_s = 0.0

    def _loop(self):
        cpu0 = time.thread_time()
        while not self._stop.is_set():
            asked = time.perf_counter()
            time.sleep(self.period_s)
            self._late.append(time.perf_counter() - asked - self.period_s)
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

    def summary(self):
        """For summary.json: how many wakes, and their lateness (ms)."""
        late = self.late_ms
        if not late.size:
            return {"wakes": 0, "period_ms": self.period_s * 1e3}
        return {"wakes": int(late.size), "period_ms": self.period_s * 1e3,
                "p50_ms": float(np.percentile(late, 50)),
                "p99_ms": float(np.percentile(late, 99)), "max_ms": float(late.max()),
                "cpu_s": self.cpu_s}
