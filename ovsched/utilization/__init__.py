"""How busy the CPU, Intel GPU and NPU are while a run goes on.

One reader per platform and source (``cpu``, ``linux_drm``, ``linux_npu``, ``windows_pdh``),
each with the same small interface: ``active``, ``name``, ``min_period_s``, ``unavailable()``,
``notes()``, ``fetch()`` (what it reads: file texts, counter values; JSON-able),
``parse(raw, t_s)`` (its counters), ``rates(before, after, dt_s)`` (the sources' values over
that period) and ``describe()`` / ``from_description()`` (what it found on the machine, for a
replay). The :class:`Sampler` runs them on a thread of its own and collects long-format samples
(time_s, source, value, period_s, uncapped) through ``track.Track``, which ``capture.replay``
applies to recorded readings too.
"""

from ._common import PROC_ROOT_ENV, SYS_ROOT_ENV
from .data import read_csv, summarize, write_csv
from .machine import machine_info
from .sampler import Sampler, drop_awake_where_engines, make_readers

__all__ = ["PROC_ROOT_ENV", "SYS_ROOT_ENV", "Sampler", "drop_awake_where_engines",
           "machine_info", "make_readers", "read_csv", "summarize", "write_csv"]
