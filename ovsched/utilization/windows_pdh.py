"""Intel GPU and NPU on Windows: the PDH counter ``\\GPU Engine(*)\\Utilization Percentage``.

Instances are named ``pid_<pid>_luid_<hi>_<lo>_phys_<n>_eng_<n>_engtype_<type>``; this reader
keeps the ones of this process and sums them per engine type per adapter, divided by the
adapter's number of engines of that type (so 100 means every engine of the class busy, as for
i915's capacity on Linux). An adapter without a 3D engine is an NPU (its engine type names vary
by driver, so it is told by adapter, not by type name). Source names as on Linux:
``gpu.render``, ``gpu.compute``, ... (``@1`` for a second GPU), ``npu``.

PDH turns the counter into a rate between two collections itself, so ``read()`` returns rates
already; ``query`` can be any function returning {instance name: percent}, which is how the
tests feed it recorded values. ``ctypes`` loads ``pdh.dll`` only when a real query is made, so
this module imports on every OS.
"""

import ctypes
import os
import re

from ._common import indexed

COUNTER_PATH = r"\GPU Engine(*)\Utilization Percentage"
INSTANCE = re.compile(
    r"^pid_(\d+)_luid_(0x[0-9a-f]+_0x[0-9a-f]+)_phys_(\d+)_eng_(\d+)_engtype_(.*)$", re.IGNORECASE)
TYPE_NAMES = {
    "3d": "render", "copy": "copy", "videodecode": "video", "videoencode": "video",
    "video codec": "video", "videoprocessing": "video-enhance",
}
NOTE_GPU = "this process's share of the engine type on that adapter, % of its engines (PDH)"
NOTE_NPU = "this process's share of the NPU adapter's engines (PDH)"

PDH_FMT_DOUBLE = 0x00000200
PDH_FMT_NOCAP100 = 0x00008000
PDH_MORE_DATA = 0x800007D2
PDH_VALID = (0x0, 0x1)  # PDH_CSTATUS_VALID_DATA, PDH_CSTATUS_NEW_DATA


def type_name(engtype):
    key = engtype.strip().lower()
    if key.startswith("compute"):
        return "compute"
    return TYPE_NAMES.get(key, key.replace(" ", "-").replace("_", "-"))


def parse_instance(name):
    """(pid, adapter, engine number, engine type) of an instance name, or None."""
    m = INSTANCE.match(name)
    if not m:
        return None
    pid, luid, phys, eng, engtype = m.groups()
    return int(pid), f"{luid.lower()}_phys_{phys}", int(eng), engtype


class _Union(ctypes.Union):
    _fields_ = [("longValue", ctypes.c_long), ("doubleValue", ctypes.c_double),
                ("largeValue", ctypes.c_longlong), ("AnsiStringValue", ctypes.c_char_p),
                ("WideStringValue", ctypes.c_wchar_p)]


class _FmtValue(ctypes.Structure):
    _fields_ = [("CStatus", ctypes.c_uint32), ("value", _Union)]


class _Item(ctypes.Structure):
    _fields_ = [("szName", ctypes.c_wchar_p), ("FmtValue", _FmtValue)]


class PdhQuery:
    """One PDH query on a wildcard counter; calling it collects and returns {instance: value}."""

    def __init__(self, path=COUNTER_PATH):
        pdh = ctypes.WinDLL("pdh.dll")  # AttributeError off Windows: the caller reports it
        for fn in ("PdhOpenQueryW", "PdhAddEnglishCounterW", "PdhCollectQueryData",
                   "PdhGetFormattedCounterArrayW", "PdhCloseQuery"):
            getattr(pdh, fn).restype = ctypes.c_uint32
        self.pdh = pdh
        self.query = ctypes.c_void_p()
        self._check(pdh.PdhOpenQueryW(None, None, ctypes.byref(self.query)), "PdhOpenQueryW")
        self.counter = ctypes.c_void_p()
        self._check(pdh.PdhAddEnglishCounterW(self.query, ctypes.c_wchar_p(path), None,
                                              ctypes.byref(self.counter)),
                    f"PdhAddEnglishCounterW({path})")
        pdh.PdhCollectQueryData(self.query)  # a rate counter needs a first collection

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise OSError(f"{what} failed with PDH status 0x{status:08X}")

    def __call__(self):
        self._check(self.pdh.PdhCollectQueryData(self.query), "PdhCollectQueryData")
        size, count = ctypes.c_uint32(0), ctypes.c_uint32(0)
        fmt = PDH_FMT_DOUBLE | PDH_FMT_NOCAP100
        status = self.pdh.PdhGetFormattedCounterArrayW(
            self.counter, fmt, ctypes.byref(size), ctypes.byref(count), None)
        if status != PDH_MORE_DATA:
            self._check(status, "PdhGetFormattedCounterArrayW")
            return {}
        buf = ctypes.create_string_buffer(size.value)
        self._check(self.pdh.PdhGetFormattedCounterArrayW(
            self.counter, fmt, ctypes.byref(size), ctypes.byref(count), buf),
            "PdhGetFormattedCounterArrayW")
        items = ctypes.cast(buf, ctypes.POINTER(_Item))
        out = {}
        for i in range(count.value):
            item = items[i]
            if item.FmtValue.CStatus in PDH_VALID:
                name = item.szName
                out[name] = out.get(name, 0.0) + item.FmtValue.value.doubleValue
        return out

    def close(self):
        self.pdh.PdhCloseQuery(self.query)


class Reader:
    name = "gpu"
    min_period_s = 0.0

    def __init__(self, pid=None, query=None):
        self.pid = os.getpid() if pid is None else pid
        self.reason = None
        if query is None:
            try:
                query = PdhQuery()
            except (OSError, AttributeError) as e:
                self.reason = f"PDH counter {COUNTER_PATH} not readable: {e}"
        self.query = query
        self.active = query is not None
        self.engines = {}  # adapter -> {type name -> set of engine numbers}, every process
        self.names = {}  # adapter -> source prefix ("gpu", "gpu@1", "npu", ...), fixed once given
        self.seen_npu = False

    def unavailable(self):
        if self.reason:
            return {"gpu": self.reason, "npu": self.reason}
        if not self.names:
            return {"gpu": "no GPU Engine instance seen in PDH"}
        if not self.seen_npu:
            return {"npu": "no PDH adapter without a 3D engine (NPU) seen"}
        return {}

    def notes(self):
        notes = {}
        for prefix in self.names.values():
            if prefix.startswith("npu"):
                notes[prefix] = NOTE_NPU
            else:
                notes[f"{prefix.replace('gpu', 'gpu.<class>', 1)}"] = NOTE_GPU
        return notes

    def _name_new_adapters(self):
        fresh = sorted(a for a in self.engines if a not in self.names)
        for adapter in fresh:
            npu = "render" not in self.engines[adapter]
            kind = "npu" if npu else "gpu"
            self.seen_npu |= npu
            k = sum(1 for p in self.names.values() if p.split("@")[0] == kind)
            self.names[adapter] = indexed(kind, k)

    def read(self):
        return dict(self.query())

    def rates(self, before, after, dt_s):
        mine = {}  # (adapter, type) -> summed percent
        for name, value in after.items():
            parsed = parse_instance(name)
            if parsed is None:
                continue
            pid, adapter, eng, engtype = parsed
            cls = type_name(engtype)
            self.engines.setdefault(adapter, {}).setdefault(cls, set()).add(eng)
            if pid == self.pid:
                mine[(adapter, cls)] = mine.get((adapter, cls), 0.0) + value
        self._name_new_adapters()
        out = {}
        npu_sum = {}
        for (adapter, cls), percent in mine.items():
            prefix = self.names[adapter]
            engines = len(self.engines[adapter][cls])
            if prefix.startswith("npu"):
                npu_sum.setdefault(prefix, [0.0, 0])
                npu_sum[prefix][0] += percent
                npu_sum[prefix][1] += engines
            else:
                card = prefix.partition("@")[2]
                name = f"gpu.{cls}" + (f"@{card}" if card else "")
                out[name] = percent / engines
        for prefix, (percent, engines) in npu_sum.items():
            out[prefix] = percent / engines
        return out
