"""Intel NPU on Linux: ``/sys/class/accel/accel*/device/npu_busy_time_us``.

The counter is cumulative microseconds during which the NPU had at least one job, for every
process (the driver ``intel_vpu``, kernel 6.11+). The kernel's note asks readers to poll it at
most about once a second, so this reader runs at its own slower period. Sources: ``npu``,
``npu@1`` for a second one.
"""

import os

from ._common import indexed, numbered, read_int

BUSY_FILE = os.path.join("device", "npu_busy_time_us")
NOTE = "whole NPU busy (at least one job on it), counts every process; read once a second"


class Reader:
    name = "npu"
    kind = "linux_npu"
    min_period_s = 1.0

    def __init__(self, sys_root):
        self.files = []
        if sys_root is None:  # a reader of recorded readings (replay)
            self.active = True
            return
        for _, path in numbered(os.path.join(sys_root, "class", "accel"), "accel"):
            busy = os.path.join(path, BUSY_FILE)
            if os.path.exists(busy):
                self.files.append(busy)
        self.active = bool(self.files)

    def unavailable(self):
        if self.files:
            return {}
        return {"npu": "no /sys/class/accel/accel*/device/npu_busy_time_us "
                       "(needs an Intel NPU with the intel_vpu driver of kernel 6.11+)"}

    def notes(self):
        return {indexed("npu", i): NOTE for i in range(len(self.files))}

    def describe(self):
        return {"devices": len(self.files)}

    @classmethod
    def from_description(cls, description):
        reader = cls(None)
        reader.files = [f"npu{i}" for i in range(description["devices"])]
        return reader

    def fetch(self):
        return [read_int(path) for path in self.files]

    def parse(self, raw, t_s):
        return raw

    def read(self):
        return self.parse(self.fetch(), None)

    def rates(self, before, after, dt_s):
        if dt_s <= 0:
            return {}
        # past 100 % (the counter advanced in a lump) is capped and marked by the sampler
        return {indexed("npu", i): 100.0 * (a - b) / (dt_s * 1e6)
                for i, (b, a) in enumerate(zip(before, after))}
