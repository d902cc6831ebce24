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
    min_period_s = 1.0

    def __init__(self, sys_root):
        self.files = []
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

    def read(self):
        return [read_int(path) for path in self.files]

    def rates(self, before, after, dt_s):
        if dt_s <= 0:
            return {}
        out = {}
        for i, (b, a) in enumerate(zip(before, after)):
            out[indexed("npu", i)] = 100.0 * min(max((a - b) / (dt_s * 1e6), 0.0), 1.0)
        return out
