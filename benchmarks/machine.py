"""The machine around the benchmark: load average, CPU steal, other processes' CPU share.

Counters are read raw (cumulative seconds) and turned into shares over an interval by the
caller. Linux reads /proc; elsewhere psutil where installed; else None, printed as "n/a".
"""

import os
import time

try:
    import psutil
except ImportError:  # optional: only the non-Linux readings need it
    psutil = None

PROC_STAT = "/proc/stat"


def _clock_ticks():
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def parse_proc_stat(text):
    """{"total_s", "busy_s", "steal_s"} from the first ("cpu") line of /proc/stat."""
    fields = [int(v) for v in text.splitlines()[0].split()[1:9]]
    fields += [0] * (8 - len(fields))  # old kernels have fewer columns
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = _clock_ticks()
    busy = user + nice + system + irq + softirq + steal
    return {"total_s": (busy + idle + iowait) / tick, "busy_s": busy / tick,
            "steal_s": steal / tick}


def cpu_counters():
    """Cumulative CPU seconds of the whole machine since boot: total, busy, steal (steal is
    None where the OS does not report it), or None when nothing can be read."""
    try:
        with open(PROC_STAT) as f:
            return parse_proc_stat(f.read())
    except (OSError, ValueError, IndexError):
        pass
    if psutil is None:
        return None
    t = psutil.cpu_times()
    total = sum(t)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return {"total_s": total, "busy_s": total - idle, "steal_s": getattr(t, "steal", None)}


def load_average():
    """(1, 5, 15)-minute load average, or None where the OS has none."""
    if hasattr(os, "getloadavg"):
        try:
            return tuple(os.getloadavg())
        except OSError:
            return None
    if psutil is not None and hasattr(psutil, "getloadavg"):
        return tuple(psutil.getloadavg())
    return None


def snapshot():
    """The machine's state now: load average and the raw CPU counters."""
    return {"time_s": time.perf_counter(), "load_average": load_average(),
            "cpu": cpu_counters()}


def steal_share(before, after):
    """Share of all CPU time that the hypervisor stole between two snapshots, or None."""
    a, b = before.get("cpu"), after.get("cpu")
    if not a or not b or a["steal_s"] is None or b["steal_s"] is None:
        return None
    total = b["total_s"] - a["total_s"]
    return (b["steal_s"] - a["steal_s"]) / total if total > 0 else None


def describe(before, after):
    """One line: load average before -> after, CPU steal meanwhile; "n/a" where unknown."""
    def load(s):
        return "n/a" if s.get("load_average") is None else f"{s['load_average'][0]:.2f}"

    steal = steal_share(before, after)
    steal_text = "n/a" if steal is None else f"{steal * 100:.1f} %"
    return f"load average (1 min) {load(before)} -> {load(after)}, CPU steal {steal_text}"


def _process_cpu_s(pid):
    if psutil is not None:
        try:
            t = psutil.Process(pid).cpu_times()
            return t.user + t.system
        except (psutil.Error, OSError):
            return 0.0
    return 0.0


class OtherLoad:
    """The share of the machine's CPUs that processes other than ours used meanwhile.

    Ours are this process, the children it waited for and the live ones in ``pids``
    (the Xvfb we started). None where the machine's counters cannot be read."""

    def __init__(self, pids=()):
        self.pids = pids
        self.share = None
        self.wall_s = None

    def _sample(self):
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        own += sum(_process_cpu_s(p) for p in self.pids)
        cpu = cpu_counters()
        return time.perf_counter(), cpu["busy_s"] if cpu else None, own

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc):
        wall0, busy0, own0 = self.start
        wall1, busy1, own1 = self._sample()
        self.wall_s = wall1 - wall0
        if os.name == "nt":  # os.times has no children's CPU there: theirs would count as other
            return
        if busy0 is not None and busy1 is not None and self.wall_s > 0:
            other = (busy1 - busy0) - (own1 - own0)
            self.share = max(0.0, other / (self.wall_s * (os.cpu_count() or 1)))
