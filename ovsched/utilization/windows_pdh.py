"""Intel GPU and NPU on Windows: the PDH counter ``\\GPU Engine(*)\\Utilization Percentage``.

Instances are named ``pid_<pid>_luid_<hi>_<lo>_phys_<n>_eng_<n>_engtype_<type>``, one per
process, adapter and engine. Sources, per adapter:

- ``gpu.<class>`` (``gpu.render``, ``gpu.compute``, ...; ``@1`` for a second GPU): this
  process's sum over the engines of a type divided by their number, so 100 means every engine
  of the class busy with this process, as i915's capacity makes it on Linux.
- ``gpu.process_busiest_engine``: this process's busiest single engine (Task Manager's GPU
  column on its Processes tab).
- ``gpu.adapter_busiest_engine``: the busiest engine summed over every process (Task
  Manager's GPU graph; whole card, like ``gpu.awake`` on Linux).
- ``npu``: the NPU's busiest engine summed over every process (Task Manager's NPU graph; whole
  device, like ``npu`` on Linux); ``npu.process``: this process's busiest NPU engine.

The NPU adapter is the one whose LUID OpenVINO reports as the ``NPU`` device's
``DEVICE_LUID`` (Intel's NPU shows ``engtype_3D`` instances, so engine names cannot tell it);
an adapter with a 3D engine that is not the NPU is a GPU; any other adapter is left out, named.

PDH turns the counter into a rate between two collections itself, so a reading holds rates
already. ``query`` can be any function returning {instance name: percent}, which is how tests
feed it values written by hand. ``ctypes`` loads ``pdh.dll`` only when a real query is made, so
this module imports on every OS. Collecting ``\\GPU Engine(*)`` is expensive, so this reader runs at
the GPU readers' own period (``gpu_util_ms``).
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
NOTES = {
    "gpu.<class>": "this process's share of the engine type on that adapter, % of its engines "
                   "(PDH)",
    "gpu.process_busiest_engine": "this process's busiest engine of the adapter (PDH; Task "
                                  "Manager's GPU column of the process)",
    "gpu.adapter_busiest_engine": "the adapter's busiest engine, every process (PDH; Task "
                                  "Manager's GPU graph)",
    "npu": "the NPU's busiest engine, every process (PDH; Task Manager's NPU graph)",
    "npu.process": "this process's busiest NPU engine (PDH)",
}
TRANSIENT_NOTE = "PDH had no data for {n} of its collections ({names}): those were skipped"

PDH_FMT_DOUBLE = 0x00000200
PDH_FMT_NOCAP100 = 0x00008000
PDH_MORE_DATA = 0x800007D2
PDH_VALID = (0x0, 0x1)  # PDH_CSTATUS_VALID_DATA, PDH_CSTATUS_NEW_DATA
# Function-level statuses that mean "no data this time" (a new instance's first collection,
# a process that just ended, a counter that wrapped): the collection is skipped, not the reader.
TRANSIENT = {
    0x800007D1: "PDH_CSTATUS_NO_INSTANCE", 0x800007D5: "PDH_NO_DATA",
    0x800007D6: "PDH_CALC_NEGATIVE_DENOMINATOR", 0x800007D7: "PDH_CALC_NEGATIVE_TIMEBASE",
    0x800007D8: "PDH_CALC_NEGATIVE_VALUE", 0xC0000BBA: "PDH_CSTATUS_INVALID_DATA",
    0xC0000BC6: "PDH_INVALID_DATA",
}


def type_name(engtype):
    key = engtype.strip().lower()
    if key.startswith("compute"):
        return "compute"
    return TYPE_NAMES.get(key, key.replace(" ", "-").replace("_", "-"))


def parse_instance(name):
    """(pid, adapter, engine number, engine type) of an instance name, or None; the adapter
    is ``<luid>_phys_<n>`` with the LUID as PDH writes it (``0x<high>_0x<low>``), lower-case."""
    m = INSTANCE.match(name)
    if not m:
        return None
    pid, luid, phys, eng, engtype = m.groups()
    return int(pid), f"{luid.lower()}_phys_{phys}", int(eng), engtype


def luid_text(device_luid):
    """PDH's ``0x<high>_0x<low>`` of OpenVINO's ``DEVICE_LUID`` (16 hex digits: the 8 bytes of
    Windows' LUID struct in memory order, LowPart then HighPart, little-endian); None when it
    is not 8 bytes of hex."""
    try:
        raw = bytes.fromhex(str(device_luid).strip())
    except ValueError:
        return None
    if len(raw) != 8:
        return None
    low, high = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")
    return f"0x{high:08x}_0x{low:08x}"


class _Union(ctypes.Union):
    _fields_ = [("longValue", ctypes.c_long), ("doubleValue", ctypes.c_double),
                ("largeValue", ctypes.c_longlong), ("AnsiStringValue", ctypes.c_char_p),
                ("WideStringValue", ctypes.c_wchar_p)]


class _FmtValue(ctypes.Structure):
    _fields_ = [("CStatus", ctypes.c_uint32), ("value", _Union)]


class _Item(ctypes.Structure):
    _fields_ = [("szName", ctypes.c_wchar_p), ("FmtValue", _FmtValue)]


class PdhQuery:
    """One PDH query on a wildcard counter; calling it collects and returns {instance: value},
    or None when PDH has no data this time (a status of TRANSIENT, counted in ``transient``).
    ``pdh`` stands for ``pdh.dll`` (tests give a fake)."""

    def __init__(self, path=COUNTER_PATH, pdh=None):
        if pdh is None:
            pdh = ctypes.WinDLL("pdh.dll")  # AttributeError off Windows: the caller reports it
            for fn in ("PdhOpenQueryW", "PdhAddEnglishCounterW", "PdhCollectQueryData",
                       "PdhGetFormattedCounterArrayW", "PdhCloseQuery"):
                getattr(pdh, fn).restype = ctypes.c_uint32
        self.pdh = pdh
        self.transient = {}  # status name -> times seen
        self.closed = False
        self.query = ctypes.c_void_p()
        self._check(pdh.PdhOpenQueryW(None, None, ctypes.byref(self.query)), "PdhOpenQueryW")
        self.counter = ctypes.c_void_p()
        status = pdh.PdhAddEnglishCounterW(self.query, ctypes.c_wchar_p(path), None,
                                           ctypes.byref(self.counter))
        if status != 0:
            self.close()
            self._check(status, f"PdhAddEnglishCounterW({path})")
        pdh.PdhCollectQueryData(self.query)  # a rate counter needs a first collection

    @staticmethod
    def _check(status, what):
        if status != 0:
            raise OSError(f"{what} failed with PDH status 0x{status:08X}")

    def _passing(self, status):
        name = TRANSIENT.get(status & 0xFFFFFFFF)
        if name is not None:
            self.transient[name] = self.transient.get(name, 0) + 1
        return name is not None

    def __call__(self):
        status = self.pdh.PdhCollectQueryData(self.query)
        if self._passing(status):
            return None
        self._check(status, "PdhCollectQueryData")
        size, count = ctypes.c_uint32(0), ctypes.c_uint32(0)
        fmt = PDH_FMT_DOUBLE | PDH_FMT_NOCAP100
        status = self.pdh.PdhGetFormattedCounterArrayW(
            self.counter, fmt, ctypes.byref(size), ctypes.byref(count), None)
        if self._passing(status):
            return None
        if status != PDH_MORE_DATA:
            self._check(status, "PdhGetFormattedCounterArrayW")
            return {}
        buf = ctypes.create_string_buffer(size.value)
        status = self.pdh.PdhGetFormattedCounterArrayW(
            self.counter, fmt, ctypes.byref(size), ctypes.byref(count), buf)
        if self._passing(status):
            return None
        self._check(status, "PdhGetFormattedCounterArrayW")
        items = ctypes.cast(buf, ctypes.POINTER(_Item))
        out = {}
        for i in range(count.value):
            item = items[i]
            if item.FmtValue.CStatus in PDH_VALID:
                name = item.szName
                out[name] = out.get(name, 0.0) + item.FmtValue.value.doubleValue
        return out

    def close(self):
        """Close the query (PdhCloseQuery); a second call does nothing."""
        if not self.closed:
            self.closed = True
            self.pdh.PdhCloseQuery(self.query)


def _replayed():
    raise RuntimeError("a replayed PDH reader reads nothing")


class Reader:
    name = "gpu"
    kind = "windows_pdh"
    min_period_s = 0.0
    gpu_period = True  # the sampler sets min_period_s from gpu_util_ms

    def __init__(self, pid=None, query=None, npu_luids=()):
        """``npu_luids``: the NPU's LUIDs as OpenVINO's ``DEVICE_LUID`` gives them."""
        self.pid = os.getpid() if pid is None else pid
        self.npu_luids = [str(x) for x in npu_luids]
        self._npu = {luid_text(x) for x in self.npu_luids} - {None}
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
        self.left_out = set()  # adapters that are neither the NPU nor have a 3D engine

    def describe(self):
        return {"pid": self.pid, "npu_luids": self.npu_luids}

    @classmethod
    def from_description(cls, description):
        return cls(pid=description["pid"], query=_replayed,
                   npu_luids=description.get("npu_luids", ()))

    def close(self):
        close = getattr(self.query, "close", None)
        if close is not None:
            close()

    def unavailable(self):
        if self.reason:
            return {"gpu": self.reason, "npu": self.reason}
        out = {}
        if not any(p.startswith("gpu") for p in self.names.values()):
            out["gpu"] = "no GPU Engine instance of an adapter with a 3D engine seen in PDH"
        if not any(p.startswith("npu") for p in self.names.values()):
            if not self._npu:
                why = "OpenVINO reports no NPU DEVICE_LUID, so no PDH adapter is known as the NPU"
            else:
                why = f"no PDH GPU Engine instance on the NPU's LUID {sorted(self._npu)[0]}"
            if self.left_out:
                why += f"; adapters left out (no 3D engine, not the NPU): " \
                       f"{', '.join(sorted(self.left_out))}"
            out["npu"] = why
        return out

    def notes(self):
        notes = {}
        for prefix in self.names.values():
            base, _, card = prefix.partition("@")
            suffix = f"@{card}" if card else ""
            for key, text in NOTES.items():
                if key.split(".")[0] == base:
                    notes[key + suffix] = text
        transient = getattr(self.query, "transient", None)
        if transient:
            names = ", ".join(f"{k} x{v}" for k, v in sorted(transient.items()))
            for key in list(notes):
                notes[key] += "; " + TRANSIENT_NOTE.format(n=sum(transient.values()),
                                                           names=names)
        return notes

    def _name_new_adapters(self):
        for adapter in sorted(a for a in self.engines if a not in self.names):
            if adapter.split("_phys_")[0] in self._npu:
                kind = "npu"
            elif "render" in self.engines[adapter]:
                kind = "gpu"
            else:
                self.left_out.add(adapter)
                continue
            k = sum(1 for p in self.names.values() if p.split("@")[0] == kind)
            self.names[adapter] = indexed(kind, k)

    def fetch(self):
        values = self.query()
        return None if values is None else dict(values)

    def parse(self, raw, t_s):
        return raw

    def read(self):
        return self.fetch()

    def rates(self, before, after, dt_s):
        mine = {}  # (adapter, type) -> this process's summed percent
        mine_engine = {}  # (adapter, engine) -> this process's percent
        every_engine = {}  # (adapter, engine) -> every process's summed percent
        for name, value in after.items():
            parsed = parse_instance(name)
            if parsed is None:
                continue
            pid, adapter, eng, engtype = parsed
            cls = type_name(engtype)
            self.engines.setdefault(adapter, {}).setdefault(cls, set()).add(eng)
            every_engine[(adapter, eng)] = every_engine.get((adapter, eng), 0.0) + value
            if pid == self.pid:
                mine[(adapter, cls)] = mine.get((adapter, cls), 0.0) + value
                mine_engine[(adapter, eng)] = mine_engine.get((adapter, eng), 0.0) + value
        self._name_new_adapters()
        out = {}
        for (adapter, cls), percent in mine.items():
            prefix = self.names.get(adapter, "")
            if prefix.startswith("gpu"):
                out[self._source(prefix, f"gpu.{cls}")] = \
                    percent / len(self.engines[adapter][cls])
        for adapter, prefix in self.names.items():
            own = [v for (a, _), v in mine_engine.items() if a == adapter]
            every = [v for (a, _), v in every_engine.items() if a == adapter]
            if prefix.startswith("gpu"):
                own_name, every_name = "gpu.process_busiest_engine", "gpu.adapter_busiest_engine"
            else:
                own_name, every_name = "npu.process", "npu"
            if every:
                out[self._source(prefix, every_name)] = max(every)
                out[self._source(prefix, own_name)] = max(own) if own else 0.0
        return out

    @staticmethod
    def _source(prefix, name):
        card = prefix.partition("@")[2]
        return name + (f"@{card}" if card else "")
