"""One experiment as a pipeline of named stages, read top to bottom:

    settings -> model -> compiled -> run -> derived -> written   (-> shown, by the caller)

``run_experiment`` is the one public way to run an experiment: both scripts call it (through
``cli``), the tests call it, and so can any program::

    from ovsched.experiment import run_experiment
    result = run_experiment({"device": "BATCH:CPU(4)", "niter": 40, "interval": 5.0,
                             "nireq": 8, "show": False, "out": "runs/x", "model": "m.xml"},
                            {"PERFORMANCE_HINT": "THROUGHPUT"}, kind="timeline")
    result.run["latency_ms"], result.run.summary.stats.latency_ms.median

Each stage is a function with one job that takes what the stages before it made and
returns one small object. Nothing prints unless ``say`` is given.
"""

import datetime
import functools
import os
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import openvino as ov

from ..derive import batching, derived, device_names, labels
from . import arrival, devices, profile, input_data, model_inputs, model_read, models
from ..views import display
from ..data import outdir
from ..errors import Interrupted, RunError, essential
from .presets import PRESETS
from ..data.folder import FIGURES
from ..data.parts import (Machine, Utilization)
from ..data.records import Run
from ..data.runfile import from_json
from ..views.report import Progress
from .wakeprobe import WakeProbe
from .runner import Runner
from .summary import summarize
from .written import Result, draw, say_ending, write
from .settings import DEFAULT_MODEL, RUN_KEYS, check_settings
from ..utilization import machine_info
from ..utilization.session import start_sampler as start_utilization_sampler
from ..utilization.session import read_now, save_raw, stop_sampler, summary_block

FIGURE_NAMES = FIGURES
KINDS = tuple(FIGURE_NAMES)


@functools.lru_cache(maxsize=1)
def core():
    """The process's one OpenVINO Core: making one loads every plugin's list again."""
    return ov.Core()


def has_gpu():
    return devices.has_device(core(), "GPU")


def devices_line():
    """The devices this machine has, for --help; help prints even if a plugin is broken."""
    try:
        return ", ".join(core().available_devices)
    except Exception as e:  # any plugin failure is worth showing, not raising
        return f"unknown ({essential(e)})"


def _quiet(*args, **kwargs):
    pass


class NoInterrupt:
    """Stands in for cli.Interrupt when a program runs an experiment: never pending."""

    pending = False
    started = False


# ---------------------------------------------------------------- stage 1: settings

@dataclass
class Plan:
    """What to run, checked: nothing is loaded, nothing is written yet."""

    kind: str
    script: str
    settings: dict
    properties: dict
    device: str
    out_target: str
    out_default: bool
    model_given: bool
    preset: str = None
    preset_about: str = None
    preset_note: str = None
    warnings: list = field(default_factory=list)
    due_s: object = None  # when each request is due, seconds from the start
    notes: list = field(default_factory=list)


def plan(settings, properties, kind, script, *, model_given=None, preset=None,
         preset_about=None, preset_note=None, given=None):
    """Check settings, properties and the output folder before anything is loaded.

    ``given`` names the settings the user set (``Resolved.given``); None, for a program
    that passes every setting, takes its ``niter`` as meant."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    missing = [k for k in RUN_KEYS if k not in settings]
    if missing:
        raise ValueError(f"settings lack {', '.join(missing)}")
    settings = check_settings(dict(settings))
    input_data.check_model_settings(settings)
    due_s, notes = due_times_s(settings, {"niter"} if given is None else given)
    settings["niter"] = len(due_s)  # a replay file sets it
    properties = devices.check_properties(properties)
    stem = os.path.splitext(os.path.basename(script))[0]
    target, default = outdir.plan_out(settings["out"], stem)
    if model_given is None:
        model_given = settings["model"] != DEFAULT_MODEL
    return Plan(kind, script, settings, properties, settings["device"].strip(), target,
                default, model_given, preset, preset_about, preset_note, due_s=due_s,
                notes=notes)


# ---------------------------------------------------------------- stage 2: model

@dataclass
class Model:
    """The model read from disk (or the stand-in), made static, described, with its data."""

    path: str
    standin: bool
    model: object
    inputs: list
    outputs: list
    reshaped: str = None
    format: str = "unknown"
    shapes: dict = field(default_factory=dict)  # input name -> the dims the run sends
    data: dict = field(default_factory=dict)  # input name -> the array every request sends
    notes: list = field(default_factory=list)  # what was done to the model, one line each


def load_model(p, say):
    """Find (or build) and read the model in any format; apply layout and shape, fix a
    dynamic batch to 1, and make the input data: every user error here is before compiling."""
    devices.check_device(core(), p.device)
    path, standin = models.locate_model(p.settings["model"], not p.model_given, say)
    model = model_read.read_model_any(core(), path)
    notes = model_inputs.fit_model(model, p.settings)
    data = input_data.input_data(model.inputs, p.settings["input"], p.settings["seed"])
    inputs = models.describe_ports(model.inputs)
    outputs = models.describe_ports(model.outputs)
    return Model(path, standin, model, inputs, outputs, "; ".join(notes) or None,
                 models.model_format(path), model_inputs.input_shapes(model), data, notes)


def say_model(m, say):
    say(f"model   {m.path} ({m.format})")
    if m.standin:
        say("        STAND-IN with random weights: fine for timing, meaningless for accuracy")
    for port in m.inputs:
        say(f"  input  {port['name']} {port['shape']} {port['type']}")
    for port in m.outputs:
        say(f"  output {port['name']} {port['shape']} {port['type']}")
    for note in m.notes:
        say(f"  note: {note}")


# ---------------------------------------------------------------- stage 3: compiled

@dataclass
class Compiled:
    """The compiled model and what it reports about itself."""

    compiled: object
    compile_s: float
    compile_started: float  # perf_counter() when compiling began
    optimal: int
    execution_devices: str
    nireq: int
    batching: dict
    profile: object = None  # profile.Decision: whether each request's profile is read
    streams: dict = field(default_factory=dict)  # NUM_STREAMS, INFERENCE_NUM_THREADS read back


def compile_stage(p, m, say):
    """Compile for the device and read back what the compiled model reports."""
    warning = batching.cache_warning(p.device, p.properties, list(core().available_devices))
    if warning:
        p.warnings.append(warning)
        say(f"warning: {warning}")
    reading = profile.decide(p.settings["profile"], p.device, p.properties,
                             list(core().available_devices))
    started = time.perf_counter()
    compiled, compile_s = on_own_thread(
        lambda: devices.compile_model(core(), m.model, p.device, reading.properties))
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    exec_devices = device_names.device_text(compiled.get_property("EXECUTION_DEVICES"))
    nireq = p.settings["nireq"] or optimal
    info, warning = batching.batching_info(compiled, p.device, p.properties,
                                           model_inputs.batch_fallback_hint(m.model),
                                           list(core().available_devices))
    say(f"compiled in {compile_s:.2f} s; OPTIMAL_NUMBER_OF_INFER_REQUESTS {optimal}; "
        f"EXECUTION_DEVICES {exec_devices}; queue of {nireq} requests")
    if info["batching"]:
        say(f"batching: batch size {info['batch_size']}, "
            f"AUTO_BATCH_TIMEOUT {info['timeout_ms']} ms")
    elif info["batching"] is None:
        say(f"batching: unknown ({info['unknown']})")
    for text in [warning, starved_warning(info, nireq), preset_batch_warning(p, info)]:
        if text:
            p.warnings.append(text)
            say(f"warning: {text}")
    say(f"profile: {'each request read on a thread of its own' if reading.on else 'off'} "
        f"({reading.why}{'; PERF_COUNT ' + reading.perf_count if reading.perf_count else ''})")
    streams = {key: _read_int(compiled, key) for key in ("NUM_STREAMS", "INFERENCE_NUM_THREADS")}
    return Compiled(compiled, compile_s, started, optimal, exec_devices, nireq, info, reading,
                    streams)


def _read_int(compiled, key):
    """A whole-number property of the compiled model, or None where it cannot be read.

    Asked directly: a BATCH model answers NUM_STREAMS from the device under it without
    listing it among its SUPPORTED_PROPERTIES; AUTO raises."""
    try:
        return int(compiled.get_property(key))
    except Exception:  # any refusal means unknown here, never a guess
        return None


def preset_batch_warning(p, info):
    """When a preset reproduces batches of a given size and the device chose another."""
    want = PRESETS.get(p.kind, {}).get(p.preset or "", {}).get("batch_size")
    if not want or info["batching"] is None or info["batch_size"] == want:
        return ""
    got = f"batches of {info['batch_size']}" if info["batching"] else "no batching"
    return (f"preset {p.preset} reproduces batches of {want}, but {p.device} runs {got}: "
            f"the figure will differ from the article's")


def starved_warning(info, nireq):
    """Which queue slots can never fill a batch, and the nireq that fixes it ("" if none)."""
    if not info["batching"]:
        return ""
    return labels.starved_slots(nireq, info["batch_size"])[1]


def on_own_thread(call):
    """Return ``call()``, run on a thread of its own so that the main thread keeps seeing
    Ctrl+C while it blocks: a second Ctrl+C can then end a compile that hangs."""
    box = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as e:  # handed to the caller, as if called here
            box["error"] = e

    thread = threading.Thread(target=target, name="compile", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
    if "error" in box:
        raise box["error"]
    return box["value"]


# ---------------------------------------------------------------- stage 4: run

@dataclass
class Execution:
    """The finished runner and how the run ended."""

    runner: Runner
    started_at: str
    view: object = None
    own_cpu: dict = field(default_factory=dict)
    sampler: object = None  # utilization.Sampler, stopped; None when util_ms is 0
    wake: object = None  # wakeprobe.WakeProbe, stopped: how late a thread woke meanwhile

    @property
    def interrupted(self):
        """Stopped by the user (ESC, q, closing the window, Ctrl+C), not by an error."""
        return self.runner.stop.is_set() and not self.runner.errors


def due_times_s(settings, given=()):
    """``(due_s, notes)``: when each request is due, in seconds from the start, by the
    arrival pattern, and notes on settings that pattern ignores (see ``arrival.resolve``)."""
    due_s, notes = arrival.resolve(settings, given)
    return np.asarray(due_s, dtype=float), notes


def open_view(p, say):
    """The live window, when asked for and a display can show one."""
    if not p.settings["show"]:
        return None
    why = display.reason()
    if why:
        say(f"no display ({why}): live view and window skipped; the figure is saved as PNG")
        return None
    from ..views import live
    return live.make_view(p.kind, p.settings, p.device)


def execute(p, m, c, interrupt, say, sampler=None):
    """Submit every request on its schedule and wait until each one has ended."""
    view = open_view(p, say)
    if view is not None and sampler is not None:
        view.attach_utilization(sampler)
    poll = p.device.startswith(("AUTO", "MULTI"))
    runner = Runner(c.compiled, c.nireq, p.due_s, poll, c.execution_devices,
                    inputs=input_data.inputs_by_index(m.model, m.data),
                    profile=c.profile is not None and c.profile.on,
                    unbatched=c.batching["batching"] is False)
    interrupt.started = True
    expected = float(p.due_s[-1]) if len(p.due_s) else 0.0
    say(f"submitting {len(p.due_s)} requests, {submit_pattern(p.settings)} "
        f"(about {expected:.1f} s)", flush=True)
    started_at = datetime.datetime.now().isoformat(timespec="seconds")
    # only where labels need to know how late a thread wakes: batching, AUTO's switch
    wanted = c.batching.get("batching") is not False or p.device.startswith(("AUTO", "MULTI"))
    wake = WakeProbe().start() if wanted else None
    runner.start()
    if sampler is not None:
        sampler.set_origin(runner.t0)
    progress = Progress(expected) if say is not _quiet else None
    if progress and sampler is not None:
        progress.utilization = sampler.latest
    view_cpu = wait_for(runner, view, interrupt, progress)
    if wake is not None:
        wake.stop()
    stop_sampler(sampler, say)
    own_cpu = {"submit_s": runner.submit_cpu_s,
               "callback_s": float(runner.callback_cpu_s[:runner.n_submitted].sum()),
               "live_view_s": view_cpu if view is not None else None,
               "requests": runner.n_submitted,
               "wall_s": time.perf_counter() - runner.t0,
               "sampler_s": sampler.cpu_s if sampler is not None else None,
               "sampler_wall_s": sampler.wall_s if sampler is not None else None,
               "device_reader_s": runner.reader_cpu_s if runner.poll_device else None,
               "profile_reader_s": (runner.profiles.cpu_s if runner.profiles is not None
                                    else None)}
    return Execution(runner, started_at, view, own_cpu, sampler, wake)


def submit_pattern(settings):
    """How the requests are submitted, for the line before the run."""
    pattern = arrival.pattern_of(settings["arrival"])
    if pattern == "fixed":
        return f"one every {settings['interval']:g} ms"
    return arrival.describe(settings)


def wait_for(runner, view, interrupt, progress):
    """Main thread: draw or report progress until every submitted request ended.

    Returns the CPU seconds this thread spent drawing the live view."""
    drawing_s = 0.0
    try:
        while True:
            if interrupt.pending:
                runner.request_stop("interrupted (Ctrl+C)")
            if view is not None:
                cpu0 = time.thread_time()
                keep = view.update(runner)
                drawing_s += time.thread_time() - cpu0
                if not keep:
                    runner.request_stop(view.stop_reason or "window closed")
            if runner.wait(0.03 if view is not None else 0.1):
                break
            if progress:
                progress.update(runner)
        if progress:
            progress.finish(runner)
    finally:
        if view is not None:
            view.end_live()
    return drawing_s


# ---------------------------------------------------------------- stage 5: derived

def derive(run, info):
    """The run with its batch labels, time breakdown, device switches and statistics
    (derive/derived.py): a new Run, computed from the records; ``run`` is left as it was."""
    return derived.apply(run, derived.derive(run, info))


# ---------------------------------------------------------------- the pipeline

def run_experiment(settings, properties, *, kind, script=None, say=None, interrupt=None,
                   **plan_extra):
    """Run one experiment from its settings and properties; return its Result.

    ``settings`` holds every key of ``settings.RUN_KEYS``; ``properties`` go to
    compile_model. ``say`` prints progress (default: silent); ``interrupt`` is polled for
    Ctrl+C (see ``cli.Interrupt``). Bad input raises UsageError before anything runs; a
    failed run raises RunError after its records were written (``error.run``); Ctrl+C
    before the first request raises Interrupted. A user's stop (Ctrl+C, the window) ends
    the run early with partial results: ``result.interrupted``."""
    say = say or _quiet
    interrupt = interrupt or NoInterrupt()
    script = script or f"{kind}.py"
    p = plan(settings, properties, kind, script, **plan_extra)
    sampler = start_sampler(p, say)
    try:
        return _stages(p, sampler, say, interrupt)
    finally:
        stop_sampler(sampler)  # on every path: a usage or run error, Ctrl+C


def start_sampler(p, say):
    """The utilization sampler, started before the model is read so that reading and
    compiling show in its samples; None when ``util_ms`` is 0."""
    return start_utilization_sampler(p.settings["util_ms"], say, p.settings["gpu_util_ms"],
                                     p.settings["util_raw"])


def add_utilization(run, e, machine):
    """A new Run: the sampler's samples on it; its block and the machine in the summary."""
    summary = replace(run.summary, machine=from_json(Machine, machine),
                      utilization=from_json(Utilization, summary_block(
                          e.sampler, run.summary.settings["util_ms"])))
    return Run(run.columns, summary,
               e.sampler.samples() if e.sampler is not None else run.utilization)


def _stages(p, sampler, say, interrupt):
    machine = machine_info(core())  # before the run loads the machine: its load average
    say(f"OpenVINO {ov.get_version()}")
    if p.preset:
        say(f"preset {p.preset}: {p.preset_about}")
        if p.preset_note:
            say(f"  {p.preset_note}")
    m = load_model(p, say)
    say_model(m, say)
    say(f"device  {p.device}")
    for note in p.notes:
        say(f"note: {note}")
    say("settings   " + " ".join(f"{k}={v!r}" for k, v in p.settings.items()))
    say("properties " + (" ".join(f"{k}={v}" for k, v in p.properties.items()) or "(none)"))
    c = compile_stage(p, m, say)
    read_now(sampler)  # a sample ends here: the compile is covered before 0, however short
    if interrupt.pending:
        raise Interrupted("interrupted before the first request: nothing written")
    e = execute(p, m, c, interrupt, say, sampler)
    run = derive(add_utilization(e.runner.to_run(summarize(p, m, c, e)), e, machine),
                 c.batching)
    out = write(p, run, say)
    save_raw(e.sampler, out, say)
    figure_path, figure = draw(p.kind, run, out)
    say_ending(run, out, say)
    if e.runner.errors:
        raise RunError("; ".join(e.runner.errors[:3]) + f" (records so far saved in {out})",
                       run)
    return Result(run, out, figure_path, figure, e.view)


def show(result, interrupt):
    """The final figure in the live window, until a key, closing it, or Ctrl+C."""
    if result.view is not None and not result.interrupted and not interrupt.pending:
        result.view.show_final(result.figure_path, stop=lambda: interrupt.pending)

