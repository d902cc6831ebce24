"""CPU through psutil: all cores, each core, this process, and its resident memory.

Sources: ``cpu`` (all cores, % busy), ``cpu0`` ... ``cpuN-1`` (each core, % busy), ``process``
(this process's CPU time as % of all cores, so 100 means every core busy with it) and ``rss_mb``
(resident memory now, MB). Counters are cumulative seconds; rates come from their change over
the sampling period, because Linux advances them in 10 ms ticks.
"""

import os

try:
    import psutil
except ImportError:  # the sampler reports it as unavailable
    psutil = None

# Linux folds guest time into user and nice; counting it twice would overstate busy time.
_FOLDED = ("guest", "guest_nice")
_IDLE = ("idle", "iowait")


def _busy_total_s(times):
    fields = times._asdict()
    total = sum(v for k, v in fields.items() if k not in _FOLDED)
    idle = sum(fields.get(k, 0.0) for k in _IDLE)
    return total - idle, total


class Reader:
    name = "cpu"
    kind = "cpu"
    min_period_s = 0.0

    def __init__(self, cores=None):
        """``cores`` given: a reader of recorded readings only (replay), which reads nothing."""
        if cores is not None:
            self.active, self.process, self.cores = True, None, cores
            return
        self.active = psutil is not None
        if self.active:
            self.process = psutil.Process(os.getpid())
            self.cores = psutil.cpu_count(logical=True) or 1

    def describe(self):
        return {"cores": self.cores}

    @classmethod
    def from_description(cls, description):
        return cls(cores=description["cores"])

    def unavailable(self):
        if psutil is None:
            return {"cpu": "psutil is not installed (pip install 'psutil>=5.9')"}
        return {}

    def notes(self):
        return {
            "cpu": "all cores, every process, % busy",
            "process": "this process's CPU time, % of all cores",
            "rss_mb": "this process's resident memory, MB",
        }

    def fetch(self):
        cores = [list(_busy_total_s(t)) for t in psutil.cpu_times(percpu=True)]
        own = self.process.cpu_times()
        return {
            "cores": cores,
            "process_s": own.user + own.system,
            "rss_mb": self.process.memory_info().rss / 1e6,
        }

    def parse(self, raw, t_s):
        return raw

    def read(self):
        return self.parse(self.fetch(), None)

    def rates(self, before, after, dt_s):
        out = {}
        busy_sum = total_sum = 0.0
        for i, ((b0, t0), (b1, t1)) in enumerate(zip(before["cores"], after["cores"])):
            busy, total = max(b1 - b0, 0.0), t1 - t0
            busy_sum += busy
            total_sum += total
            if total > 0:
                out[f"cpu{i}"] = 100.0 * min(busy / total, 1.0)
        if total_sum > 0:
            out["cpu"] = 100.0 * min(busy_sum / total_sum, 1.0)
        if dt_s > 0:
            used_s = max(after["process_s"] - before["process_s"], 0.0)
            out["process"] = 100.0 * used_s / (dt_s * self.cores)
        out["rss_mb"] = after["rss_mb"]
        return out
