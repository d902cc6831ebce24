"""What the readers share: where the kernel's trees are, and small file helpers."""

import os

PROC_ROOT_ENV = "OVSCHED_PROC_ROOT"
SYS_ROOT_ENV = "OVSCHED_SYS_ROOT"


def proc_root():
    """The /proc tree the readers look at (``OVSCHED_PROC_ROOT``, so tests can fake it)."""
    return os.environ.get(PROC_ROOT_ENV) or "/proc"


def sys_root():
    """The /sys tree the readers look at (``OVSCHED_SYS_ROOT``, so tests can fake it)."""
    return os.environ.get(SYS_ROOT_ENV) or "/sys"


def read_text(path):
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def read_int(path):
    return int(read_text(path).split()[0])


def uevent(device_dir):
    """``KEY=value`` pairs of a sysfs device's ``uevent`` file; empty if it cannot be read."""
    try:
        text = read_text(os.path.join(device_dir, "uevent"))
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def numbered(folder, prefix):
    """Entries ``<prefix><n>`` of ``folder`` as (n, path), in number order; connectors such as
    ``card0-DP-1`` are left out."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        tail = name[len(prefix):]
        if name.startswith(prefix) and tail.isdigit():
            found.append((int(tail), os.path.join(folder, name)))
    return sorted(found)


def indexed(name, index):
    """Source name of the ``index``-th device of a kind: ``gpu.render``, ``gpu.render@1``."""
    return name if index == 0 else f"{name}@{index}"


class Monotonic:
    """Keeps each cumulative counter at its largest value seen: the DRM usage-stats rules let a
    counter step back briefly, and a reader should hold the larger value until it catches up."""

    def __init__(self):
        self.high = {}

    def __call__(self, key, value):
        high = self.high.get(key)
        if high is not None and value < high:
            return high
        self.high[key] = value
        return value
