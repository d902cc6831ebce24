"""The parts of a run's summary (``summary.json``) as dataclasses.

Every field defaults to None: a run saved before a field existed loads with None there,
and a view that needs it says what is missing rather than failing. ``convert`` turns these
into JSON and back generically; ``runfile`` writes and reads the files and upgrades older
ones on load.

Add a part: write a dataclass here (fields typed, each ``= None``), and give ``Summary`` one
field ``name: Optional[Part] = None``. Nothing else: ``convert.to_json`` / ``from_json``
handle nested dataclasses, lists and dicts of them, and Optional. A JSON key that is not a
Python name (``from``) is named in the field's metadata: ``field(default=None,
metadata={"key": "from"})``; a key written only when it is not None has
``metadata={"only_when_known": True}``. Keys a part does not know are kept in its ``extra`` and
written back unchanged, so nothing a newer writer added is lost.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .convert import from_json

# The newest summary.json this code writes; runfile.upgrade brings older files to it.
FORMAT_VERSION = 1


class Part:
    """Base of the summary's parts: each keeps the keys it does not know in ``extra``."""

    def keys_missing(self, *names):
        """The named fields that are None (what an older run did not record)."""
        return [n for n in names if getattr(self, n, None) is None]

    # Reading by JSON key (``part["from"]``, ``part.get("count")``), for code that still
    # reads the summary as it read the dict it used to be; a field that is None reads as
    # missing.
    def _attr(self, key):
        from dataclasses import fields
        for f in fields(self):
            if f.metadata.get("key", f.name) == key and f.name != "extra":
                return f.name
        return None

    def get(self, key, default=None):
        name = self._attr(key)
        value = getattr(self, name) if name else self.extra.get(key)
        return default if value is None else value

    def __getitem__(self, key):
        name = self._attr(key)
        if name is None:
            return self.extra[key]
        return getattr(self, name)

    def __contains__(self, key):
        return self.get(key) is not None

    def __setitem__(self, key, value):
        """A value set by JSON key, read into the field's type (a dict into its part)."""
        name = self._attr(key)
        if name is None:
            self.extra[key] = value
            return
        from typing import get_type_hints
        setattr(self, name, from_json(get_type_hints(type(self))[name], value))


def _key(name):
    return field(default=None, metadata={"key": name})


@dataclass
class Port(Part):
    name: Optional[str] = None
    shape: Optional[str] = None
    type: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelInfo(Part):
    """The model as run: file, stand-in or not, ports, what was done to it."""

    path: Optional[str] = None
    name: Optional[str] = None
    standin: Optional[bool] = None
    inputs: Optional[List[Port]] = None
    outputs: Optional[List[Port]] = None
    reshaped: Optional[str] = None
    format: Optional[str] = None
    shapes: Optional[Dict[str, List[int]]] = None  # input name -> the dims the run sends
    input_data: Optional[str] = None
    note: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Batching(Part):
    """What the compiled model says about automatic batching (``batching`` None: unknown,
    with the reason in ``unknown``)."""

    batching: Optional[bool] = None
    batch_size: Optional[int] = None
    requested_batch_size: Optional[int] = None
    timeout_ms: Optional[int] = None
    # why batching is unknown; written only then, as the compiled model's block always was
    unknown: Optional[str] = field(default=None, metadata={"only_when_known": True})
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Batches(Part):
    """The batch labels counted: ``count`` batched inferences, ``requests_batched``
    requests in them, ``timeout`` requests that ran alone after the timer (in ``flushes``
    flushes); ``text`` in the plugin's words, ``notes`` on what the times cannot decide."""

    count: Optional[int] = None
    batch_size: Optional[int] = None
    requests_batched: Optional[int] = None
    batched_share: Optional[float] = None
    timeout: Optional[int] = None
    flushes: Optional[int] = None
    single: Optional[int] = None
    unknown: Optional[int] = None
    never_completed: Optional[int] = None
    timeout_ms: Optional[float] = None
    notes: Optional[List[str]] = None
    text: Optional[str] = None
    note: Optional[str] = None
    # how late a worker's wake was allowed to be (the largest, the typical) and how derived
    allowance_ms: Optional[float] = None
    allowance_median_ms: Optional[float] = None
    allowance_from: Optional[str] = None
    wide_allowance_ms: Optional[Dict[str, float]] = None  # worker -> the wide one it needed
    launch_err_ms: Optional[Dict[str, float]] = None  # median, max of the launch uncertainty
    witness: Optional[Dict[str, int]] = None  # the profiles' agreements and disagreements
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class WakeLateness(Part):
    """How late a normal-priority thread woke from ``period_ms`` sleeps during the run
    (run/wakeprobe.py): overall, and the latest per ``window_ms`` from ``windows_start_s``
    on the records' clock."""

    wakes: Optional[int] = None
    period_ms: Optional[float] = None
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    max_ms: Optional[float] = None
    cpu_s: Optional[float] = None
    window_ms: Optional[float] = None
    windows_start_s: Optional[float] = None
    windows_max_ms: Optional[List[float]] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Distribution(Part):
    median: Optional[float] = None
    mean: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None
    p90: Optional[float] = None
    p99: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Lateness(Part):
    p50: Optional[float] = None
    p99: Optional[float] = None
    mean: Optional[float] = None
    max: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Pacing(Part):
    p50: Optional[float] = None
    p99: Optional[float] = None
    max: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Stats(Part):
    """Counts, duration, throughput, latency, lateness and pacing of (part of) a run."""

    count: Optional[int] = None
    submitted: Optional[int] = None
    duration_s: Optional[float] = None
    throughput_fps: Optional[float] = None
    latency_ms: Optional[Distribution] = None
    lateness_ms: Optional[Lateness] = None
    pacing_ms: Optional[Pacing] = None
    first_latency_ms: Optional[float] = None
    compile_s: Optional[float] = None
    per_device: Optional[Dict[str, "Stats"]] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class SwitchWindow(Part):
    """AUTO's move from its CPU helper to the accelerator: the requests in flight between
    ``start_s`` and ``end_s`` ran on either."""

    start_s: Optional[float] = None
    end_s: Optional[float] = None
    from_: Optional[str] = _key("from")
    to: Optional[str] = None
    last_helper_reading_s: Optional[float] = None
    first_reading_s: Optional[float] = None
    requests: Optional[int] = None
    allowance_ms: Optional[float] = None  # how late the helper's release may come
    allowance_from: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class DeviceSwitch(Part):
    """A change of the device read between two consecutive requests."""

    request: Optional[int] = None
    time_s: Optional[float] = None
    from_: Optional[str] = _key("from")
    to: Optional[str] = None
    latency_median_before_ms: Optional[float] = None
    latency_median_after_ms: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Utilization(Part):
    """The sampler's block: statistics per source, and why a source was not measured.

    ``sources``: {source: {mean, p50, p95, max, capped}}. ``mean`` weighs what was measured
    (before any cap) by each sample's period, so it is the busy-time counters' change over
    the run; p50, p95 and max are of the values shown (capped at 0-100 %); ``capped`` counts
    the capped samples (runs saved before it have no ``capped``). ``gpu_period_ms``: the GPU
    readers' own period (``gpu_util_ms``; None in runs saved before it, which read the GPU
    every ``period_ms``)."""

    period_ms: Optional[float] = None
    gpu_period_ms: Optional[float] = None
    sources: Optional[Dict[str, Dict[str, Any]]] = None
    unavailable: Optional[Dict[str, Any]] = None
    notes: Optional[Dict[str, Any]] = None
    warnings: Optional[List[str]] = None
    note: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Machine(Part):
    """Where the run was measured (a value can be 'unknown: why')."""

    cpu_model: Any = None
    logical_cores: Any = None
    physical_cores: Any = None
    memory_gb: Any = None
    os: Optional[Dict[str, Any]] = None
    python: Optional[str] = None
    openvino: Optional[str] = None
    load_average_1_5_15_min: Any = None
    devices: Any = None  # {device: {property: value}}, or 'unknown: why'
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class OwnCost(Part):
    """CPU seconds the tool itself spent (thread CPU time), and the run's wall time."""

    submit_s: Optional[float] = None
    callback_s: Optional[float] = None
    live_view_s: Optional[float] = None
    requests: Optional[int] = None
    wall_s: Optional[float] = None
    sampler_s: Optional[float] = None
    sampler_wall_s: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding(Part):
    """One finding (derive/findings.py): what, this run's evidence, a setting to try, the
    requests it concerns. ``severity`` is "warn" or "info"; ``requests`` ranges ("0-3, 8");
    ``values`` the numbers behind the evidence; ``impact_ms`` the milliseconds of the run it
    accounts for (None where no time can be put on it)."""

    id: Optional[str] = None
    severity: Optional[str] = None
    title: Optional[str] = None
    evidence: Optional[str] = None
    fix: Optional[str] = None
    requests: Optional[str] = None
    values: Optional[Dict[str, Any]] = None
    impact_ms: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Breakdown(Part):
    """Where the time of the median, p90, p99 and slowest requests went (derive/breakdown):
    ``requests`` one entry each ({rank, request, response_ms, parts, shares, ...})."""

    requests: Optional[List[Dict[str, Any]]] = None
    split: Optional[int] = None
    completed: Optional[int] = None
    max_sum_error_ms: Optional[float] = None
    notes: Optional[List[str]] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class GateWait(Part):
    total: Optional[float] = None
    max: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Profile(Part):
    """Whether each request's profile was read (run/profile.py) and what reading cost;
    which readings are a request's own (derive/profiles.py)."""

    setting: Optional[str] = None  # auto, on, off
    on: Optional[bool] = None
    why: Optional[str] = None
    perf_count: Optional[str] = None  # what PERF_COUNT was compiled with, and who set it
    read: Optional[int] = None
    skipped: Optional[int] = None  # not read: another request in flight (nothing batches)
    own: Optional[int] = None  # provably the request's own inference's
    not_own: Optional[int] = None
    errors: Optional[List[str]] = None
    gate_waits: Optional[int] = None  # submits that waited for a slot's profile to be read
    gate_wait_ms: Optional[GateWait] = None
    reader_priority: Optional[str] = None
    reader_cpu_s: Optional[float] = None
    reader_cpu_ms_per_request: Optional[float] = None
    read_cpu_ms_per_read: Optional[float] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary(Part):
    """A run's summary: settings, what OpenVINO reported, how the run ended, and what was
    derived from its records. ``format_version`` is written first."""

    format_version: int = FORMAT_VERSION
    script: Optional[str] = None
    kind: Optional[str] = None  # "timeline" or "latency"
    openvino_version: Optional[str] = None
    started_at: Optional[str] = None
    preset: Optional[str] = None
    preset_note: Optional[str] = None
    settings: Optional[Dict[str, Any]] = None
    properties: Optional[Dict[str, Any]] = None
    model: Optional[ModelInfo] = None
    device: Optional[str] = None
    execution_devices: Optional[str] = None
    optimal_number_of_infer_requests: Optional[int] = None
    nireq: Optional[int] = None
    num_streams: Any = None  # read back from the compiled model, where it answers
    inference_num_threads: Any = None
    compile_s: Optional[float] = None
    compile_started_s: Optional[float] = None
    queue_created_s: Optional[float] = None
    queue_created_end_s: Optional[float] = None
    device_readings: Optional[List[Dict[str, Any]]] = None
    submit_thread_priority: Optional[str] = None
    batching: Optional[Batching] = None
    interrupted: Optional[bool] = None
    cut_short: Optional[bool] = None
    stop_reason: Optional[str] = None
    stopped_at_request: Optional[int] = None
    own_cpu: Optional[OwnCost] = None
    wake_probe: Optional[WakeLateness] = None
    arrival: Optional[str] = None
    warnings: Optional[List[str]] = None
    notes: Optional[List[str]] = None
    errors: Optional[List[str]] = None
    utilization: Optional[Utilization] = None
    machine: Optional[Machine] = None
    batches: Optional[Batches] = None
    device_switch_window: Optional[SwitchWindow] = None
    device_switches: Optional[List[DeviceSwitch]] = None
    device_switch: Optional[DeviceSwitch] = None
    stats: Optional[Stats] = None
    device_note: Optional[str] = None
    breakdown: Optional[Breakdown] = None
    profile: Optional[Profile] = None
    findings: Optional[List[Finding]] = None  # ranked checks (derive/findings.py)
    extra: Dict[str, Any] = field(default_factory=dict)
    # What a run saved by an earlier version lacks, said by the reader; not saved.
    lacks: List[str] = field(default_factory=list, metadata={"saved": False})

    def setting(self, name, default=None):
        """A run setting, or ``default`` when the run did not record it."""
        value = (self.settings or {}).get(name)
        return default if value is None else value


def as_summary(value):
    """A Summary from a Summary, or from a dict in the newest shape (a program's own)."""
    if value is None:
        return Summary()
    if isinstance(value, Summary):
        return value
    return from_json(Summary, value)
