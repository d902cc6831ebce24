"""Every run setting, declared once: its type, its default in each script, its comment, its
meaning and its check.

The two scripts keep their settings block at the top (edit it there, nanoGPT-style); tests
check that each block, and the README's settings table, say what is declared here. ``--help``,
the checks, the settings a script that predates one gets, and the defaults of ``ovsched
timeline`` / ``latency`` and of the sweep read this module.

A new setting is one ``Setting(...)`` below, one line in each script's block and one row of
the README's table (``python -c "from ovsched.run import schema; print(schema.readme_row(
'NAME'))"`` prints the row).
"""

import math
from dataclasses import dataclass

from ..errors import UsageError
from ..utilization.sampler import GPU_UTIL_MS

KINDS = ("timeline", "latency")
SCRIPTS = {"timeline": "auto-test.py", "latency": "auto-test-latency-graph.py"}

# The IR that Open Model Zoo's downloader and converter write for the one model in
# models.txt. Both scripts default to it; when it is missing, the run builds a stand-in.
DEFAULT_MODEL = "public/googlenet-v1-tf/FP16/googlenet-v1-tf.xml"
MAX_NIREQ = 1024  # each request holds its own tensors; more is never useful here
# A run holds ~1.5 KB a request until it is written (records, trace events, the figure's
# data): measured peak RSS 181 MB at 20k, 226 MB at 50k, 437 MB at 200k requests. A cap of
# a million keeps a run within ~1.5 GB.
MAX_NITER = 1_000_000
NITER_MEMORY_KB = 1.5
MAX_INTERVAL_MS = 3_600_000.0


@dataclass(frozen=True)
class Setting:
    """One run setting. ``default`` and ``comment`` are one value for both scripts, or a
    dict by kind where the scripts differ. ``check(value)`` returns the value to use or
    raises UsageError; it runs after the value has the setting's type."""

    name: str
    type: type
    default: object
    comment: object  # the script line's comment; --help prints it beside the default
    meaning: str  # the README table's text
    check: object = None
    # Every script has defined it since the first release. A later setting has one default,
    # which an older copy of a script that lacks the line gets.
    required: bool = False

    def default_for(self, kind):
        return self.default[kind] if isinstance(self.default, dict) else self.default

    def comment_for(self, kind):
        return self.comment[kind] if isinstance(self.comment, dict) else self.comment


@dataclass(frozen=True)
class Property:
    """An OpenVINO property a script's ``properties`` block sets by default."""

    name: str
    value: str
    comment: str


# ---------------------------------------------------------------- checks

def _niter(n):
    if n < 1:
        raise UsageError(f"--niter={n}: the number of requests must be at least 1")
    if n > MAX_NITER:
        raise UsageError(f"--niter={n} is more than one run can hold in memory: use at most "
                         f"{MAX_NITER:,} requests (~{NITER_MEMORY_KB:g} KB of memory each)")
    return n


def _interval(ms):
    if not math.isfinite(ms) or ms > MAX_INTERVAL_MS:
        raise UsageError(f"--interval={ms}: give a number of milliseconds up to "
                         f"{MAX_INTERVAL_MS:,.0f} (one hour)")
    if ms < 0:
        raise UsageError(f"--interval={ms}: the interval between requests (ms) must be 0 or "
                         f"more")
    return ms


def _nireq(n):
    if n < 0:
        raise UsageError(f"--nireq={n}: the queue size must be 0 (the compiled model's optimal "
                         f"number) or more")
    if n > MAX_NIREQ:
        raise UsageError(f"--nireq={n} is more requests than can be held at once; use at most "
                         f"{MAX_NIREQ} (0 = the compiled model's optimal number)")
    return n


def _util_ms(ms):
    if not math.isfinite(ms) or ms < 0:
        raise UsageError(f"--util_ms={ms}: give the milliseconds between utilization samples "
                         f"(e.g. 100), or 0 to turn sampling off")
    return ms


PROFILE_CHOICES = ("auto", "on", "off")


def check_profile(value):
    """``profile`` lower-cased; anything else stops the run before it starts."""
    word = str(value).strip().lower()
    if word not in PROFILE_CHOICES:
        raise UsageError(f"--profile={value}: use auto (on where the device is the CPU), on "
                         f"or off")
    return word


def _gpu_util_ms(ms):
    if not math.isfinite(ms) or ms <= 0:
        raise UsageError(f"--gpu_util_ms={ms}: give the milliseconds between GPU utilization "
                         f"readings, more than 0 (e.g. 1000, intel_gpu_top's period)")
    return ms


def _device(text):
    if not str(text).strip():
        raise UsageError("--device is empty; e.g. --device=CPU")
    return text


def _model(text):
    if not str(text).strip():
        raise UsageError("--model is empty; give the path of a model file")
    return text


# ---------------------------------------------------------------- the settings

SETTINGS = (
    Setting("model", str, DEFAULT_MODEL,
            "any model OpenVINO reads: IR .xml, .onnx, .tflite, TensorFlow .pb or SavedModel "
            "folder, .pdmodel; default googlenet-v1-tf IR (models.txt), if missing an offline "
            "stand-in",
            "model to run: IR `.xml`, `.onnx`, `.tflite`, `.pb`, SavedModel folder, `.pdmodel`",
            _model, required=True),
    Setting("device", str, {"timeline": "BATCH:CPU(8)", "latency": "AUTO"},
            {"timeline": "pick one; GPU ones need an Intel GPU",
             "latency": "pick one; AUTO starts on the CPU"},
            "any OpenVINO device string", _device, required=True),
    Setting("niter", int, {"timeline": 40, "latency": 2000}, "requests to submit",
            "requests to submit", _niter, required=True),
    Setting("interval", float, 30.0, "ms between two submits (request i is due at i*interval)",
            "ms between submits: request i is due at i × interval", _interval, required=True),
    Setting("nireq", int, {"timeline": 16, "latency": 0},
            "requests in the queue; 0 = the compiled model's optimal number",
            "requests in the queue; 0 = the compiled model's optimal number", _nireq,
            required=True),
    Setting("util_ms", float, 100.0, "ms between CPU/GPU/NPU utilization samples; 0 = off",
            "ms between CPU/GPU/NPU utilization samples; 0 = off (see *Device utilization*)",
            _util_ms),
    Setting("gpu_util_ms", float, GPU_UTIL_MS,
            "ms between GPU utilization readings (each wakes the GPU; intel_gpu_top reads "
            "once a second)",
            "ms between GPU utilization readings, at least `util_ms` (each reading wakes the "
            "GPU; see *Device utilization*)", _gpu_util_ms),
    Setting("util_raw", bool, False,
            "True also writes what each utilization reader read to utilization_raw.jsonl "
            "(to replay in tests)",
            "True also writes what each utilization reader read to `utilization_raw.jsonl`, "
            "to replay in tests"),
    Setting("arrival", str, "fixed",
            "fixed, poisson, burst, or a file of due times (ms, one a line)",
            "`fixed`, `poisson`, `burst`, or a file of due times (see *Arrival patterns*)"),
    Setting("seed", int, 0,
            "seed of poisson arrivals and of random input data (same seed, same data)",
            "seed of `poisson` arrivals and of `random` input data"),
    Setting("burst", int, 1, 'requests due together every interval when arrival = "burst"',
            "requests due together every interval under `arrival=burst`"),
    Setting("shape", str, "",
            "input shapes as benchmark_app takes them: x[1,3,640,640] or "
            "x[1,3,640,640],y[1,10] or [1,3,640,640]; needed for dynamic dims other than the "
            "batch",
            "input shapes, `benchmark_app`'s syntax (see *Your own model*)"),
    Setting("layout", str, "",
            "input layouts, e.g. x(NCHW) or [NHWC]; says which axis is the batch when a "
            "dynamic one is set to 1",
            "input layouts, e.g. `x(NCHW)`"),
    Setting("input", str, "random",
            "input data, made once: random (by seed, valid for each type), zeros, FILE.npz "
            "(one array per input name) or FILE.npy (one input)",
            "input data: `random`, `zeros`, or a `.npz`/`.npy` file"),
    Setting("profile", str, "auto",
            "per-request compute time from OpenVINO's profiling (PERF_COUNT), read off the "
            "requests' threads: auto = on where the device is the CPU, on, off",
            "per-request `compute_ms` from OpenVINO's profiling (`PERF_COUNT=YES`): `auto` = "
            "on where the device is the CPU, `on`, `off` (see *Where the time went*)",
            check_profile),
    Setting("show", bool, True,
            {"timeline": "live window while running, final figure after (needs a display)",
             "latency": "live graph while running, final figure after (needs a display)"},
            "live window while running, final figure after", required=True),
    Setting("out", str, "",
            {"timeline": 'results folder; "" = a new runs/auto-test-<time>',
             "latency": 'results folder; "" = a new runs/auto-test-latency-graph-<time>'},
            "results folder; `\"\"` = a new `runs/<script>-<time>`", required=True),
)

PROPERTIES = {
    "timeline": (
        Property("PERFORMANCE_HINT", "THROUGHPUT", "THROUGHPUT lets a GPU batch implicitly"),
        Property("ALLOW_AUTO_BATCHING", "YES", "NO keeps THROUGHPUT on a GPU from batching"),
        Property("PERFORMANCE_HINT_NUM_REQUESTS", "4",
                 "caps the requests (and batch) the hint plans for"),
        Property("CACHE_DIR", "./cache", "compiled-model cache; speeds up the next compile"),
    ),
    "latency": (
        Property("PERFORMANCE_HINT", "THROUGHPUT", "THROUGHPUT batches on a GPU: jittery"),
    ),
}

BY_NAME = {s.name: s for s in SETTINGS}
assert all(not isinstance(s.default, dict) for s in SETTINGS if not s.required), \
    "a later setting has one default: the one an older script that lacks it gets"


def defaults(kind):
    """The settings of ``kind``'s script as shipped, in the block's order."""
    return {s.name: s.default_for(kind) for s in SETTINGS}


def properties(kind):
    """The OpenVINO properties ``kind``'s script sets as shipped."""
    return {p.name: p.value for p in PROPERTIES[kind]}


def comments(kind):
    """The comment beside each setting and default property of ``kind``'s script."""
    out = {s.name: s.comment_for(kind) for s in SETTINGS}
    out.update({p.name: p.comment for p in PROPERTIES[kind]})
    return out


def readme_value(value):
    """A default as the README's settings table writes it."""
    if value == DEFAULT_MODEL:
        return "the OMZ path"
    if value == "":
        return '`""`'
    if isinstance(value, str):
        return f"`{value}`"
    return repr(value)


def readme_row(name):
    """The README settings table's row of one setting."""
    s = BY_NAME[name]
    cells = [f"`{s.name}`"] + [readme_value(s.default_for(kind)) for kind in KINDS]
    return "| " + " | ".join(cells + [s.meaning]) + " |"
