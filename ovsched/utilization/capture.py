"""``utilization_raw.jsonl``: what each reader read, with its time, so that a run on real
hardware can become a test. The first line describes the readers (what each found on the
machine); each further line is one reading: ``{"t_s": time on the run's clock, "reader":
its index, "raw": what it read}`` (fdinfo texts and sysfs values on Linux, the PDH values as
the reader gets them on Windows, psutil's counters for the CPU). ``replay`` feeds the
readings through the same readers and rules as the sampler and returns the same samples."""

import json

from . import cpu, linux_drm, linux_npu, windows_pdh
from .sampler import drop_awake_where_engines
from .track import Track, append, empty
from ..files import atomic_write

FORMAT = "ovsched utilization raw"
VERSION = 1
KINDS = {m.Reader.kind: m.Reader for m in (cpu, linux_drm, linux_npu, windows_pdh)}


def write_raw(sampler, path):
    """Write ``sampler.raw`` (a Sampler made with ``capture=True``) to ``path``, times on
    the run's clock, through a temporary file renamed into place."""
    header = {"format": FORMAT, "version": VERSION,
              "period_ms": sampler.period_s * 1e3, "gpu_period_ms": sampler.gpu_period_s * 1e3,
              "readers": [{"kind": getattr(r, "kind", type(r).__name__),
                           "name": r.name, "description": _describe(r)}
                          for r in sampler.all_readers]}

    def lines(f):
        f.write(json.dumps(header) + "\n")
        for perf_s, index, raw in sampler.raw:
            f.write(json.dumps({"t_s": perf_s - sampler.t0_perf, "reader": index,
                                "raw": raw}) + "\n")

    atomic_write(path, lines)


def _describe(reader):
    describe = getattr(reader, "describe", None)
    return describe() if describe is not None else None


def read_raw(path):
    """(header, [reading, ...]) of a capture file; ValueError when it is not one."""
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline() or "null")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file")
        if header.get("version", 0) > VERSION:
            raise ValueError(f"{path} has version {header['version']}; this ovsched reads "
                             f"up to {VERSION}")
        return header, [json.loads(line) for line in f if line.strip()]


def replay(path):
    """The samples (columns as ``Sampler.samples()`` after ``stop()``) that the readings of
    the capture ``path`` give through its readers."""
    header, readings = read_raw(path)
    tracks = []
    for spec in header["readers"]:
        reader_class = KINDS.get(spec["kind"])
        tracks.append(None if reader_class is None or spec["description"] is None
                      else Track(reader_class.from_description(spec["description"])))
    columns = empty()
    for reading in readings:
        track = tracks[reading["reader"]]
        if track is not None:
            append(columns, reading["t_s"], track.take(reading["t_s"], reading["raw"]))
    return drop_awake_where_engines(columns)[0]
