"""One experiment as a pipeline of named stages, read top to bottom:

    settings -> model -> compiled -> run -> derived -> written   (-> shown, by the caller)

``run_experiment`` is the one public way to run an experiment: both scripts call it (through
``cli``), the tests call it, and so can any program::

    from ovsched.experiment import run_experiment
    result = run_experiment({"device": "BATCH:CPU(4)", "niter": 40, "interval": 5.0,
                             "nireq": 8, "show": False, "out": "runs/x", "model": "m.xml"},
                            {"PERFORMANCE_HINT": "THROUGHPUT"}, kind="timeline")
    result.run["latency_ms"], result.run.summary["stats"]

Each stage is a function with one job that takes what the stages before it made and
returns one small object. Nothing prints unless ``say`` is given.
"""

import datetime
import functools
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import openvino as ov

from . import analysis, arrival, batching, devices, display, models, outdir
from .errors import Interrupted, RunError, essential
from .plots import PLOTS
from .records import Run, write_csv, write_json
from .report import Progress, print_table
from .runner import Runner, device_text
from .settings import DEFAULT_MODEL, RUN_KEYS, check_settings
from .trace import trace

FIGURE_NAMES = {"timeline": "timeline.png", "latency": "latency.png"}
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
    """The model read from disk (or the stand-in), made static, described."""

    path: str
    standin: bool
    model: object
    inputs: list
    outputs: list
    reshaped: str = None


def load_model(p, say):
    """Find (or build) and read the model; fix a dynamic batch to 1."""
    devices.check_device(core(), p.device)
    path, standin = models.locate_model(p.settings["model"], not p.model_given, say)
    model = models.read_model(core(), path)
    reshaped = models.make_static(model)
    inputs = models.describe_ports(model.inputs)
    outputs = models.describe_ports(model.outputs)
    return Model(path, standin, model, inputs, outputs, reshaped)


def say_model(m, say):
    say(f"model   {m.path}")
    if m.standin:
        say("        STAND-IN with random weights: fine for timing, meaningless for accuracy")
    for port in m.inputs:
        say(f"  input  {port['name']} {port['shape']} {port['type']}")
    for port in m.outputs:
        say(f"  output {port['name']} {port['shape']} {port['type']}")
    if m.reshaped:
        say(f"  note: {m.reshaped}")


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


def compile_stage(p, m, say):
    """Compile for the device and read back what the compiled model reports."""
    warning = batching.cache_warning(p.device, p.properties, list(core().available_devices))
    if warning:
        p.warnings.append(warning)
        say(f"warning: {warning}")
    started = time.perf_counter()
    compiled, compile_s = on_own_thread(
        lambda: devices.compile_model(core(), m.model, p.device, p.properties))
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    exec_devices = device_text(compiled.get_property("EXECUTION_DEVICES"))
    nireq = p.settings["nireq"] or optimal
    info, warning = batching.batching_info(compiled, p.device, p.properties)
    say(f"compiled in {compile_s:.2f} s; OPTIMAL_NUMBER_OF_INFER_REQUESTS {optimal}; "
        f"EXECUTION_DEVICES {exec_devices}; queue of {nireq} requests")
    if info["batching"]:
        say(f"batching: batch size {info['batch_size']}, "
            f"AUTO_BATCH_TIMEOUT {info['timeout_ms']} ms")
    if warning:
        p.warnings.append(warning)
        say(f"warning: {warning}")
    return Compiled(compiled, compile_s, started, optimal, exec_devices, nireq, info)


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
    from . import live
    return live.make_view(p.kind, p.settings, p.device)


def execute(p, c, interrupt, say):
    """Submit every request on its schedule and wait until each one has ended."""
    view = open_view(p, say)
    poll = p.device.startswith(("AUTO", "MULTI"))
    runner = Runner(c.compiled, c.nireq, p.due_s, poll, c.execution_devices)
    interrupt.started = True
    expected = float(p.due_s[-1]) if len(p.due_s) else 0.0
    say(f"submitting {len(p.due_s)} requests, {submit_pattern(p.settings)} "
        f"(about {expected:.1f} s)", flush=True)
    started_at = datetime.datetime.now().isoformat(timespec="seconds")
    runner.start()
    progress = Progress(expected) if say is not _quiet else None
    view_cpu = wait_for(runner, view, interrupt, progress)
    own_cpu = {"submit_s": runner.submit_cpu_s,
               "callback_s": float(runner.callback_cpu_s[:runner.n_submitted].sum()),
               "live_view_s": view_cpu if view is not None else None,
               "requests": runner.n_submitted,
               "wall_s": time.perf_counter() - runner.t0}
    return Execution(runner, started_at, view, own_cpu)


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

def summarize(p, m, c, e):
    """The summary of the run: effective settings, what OpenVINO reported, how it ended."""
    runner = e.runner
    summary = {
        "script": os.path.basename(p.script),
        "kind": p.kind,
        "openvino_version": ov.get_version(),
        "started_at": e.started_at,
        "preset": p.preset,
        "preset_note": p.preset_note,
        "settings": p.settings,
        "properties": p.properties,
        "model": {"path": m.path, "name": os.path.splitext(os.path.basename(
            p.settings["model"]))[0], "standin": m.standin,
                  "inputs": m.inputs, "outputs": m.outputs, "reshaped": m.reshaped},
        "device": p.device,
        "execution_devices": c.execution_devices,
        "optimal_number_of_infer_requests": c.optimal,
        "nireq": c.nireq,
        "compile_s": c.compile_s,
        "compile_started_s": c.compile_started - runner.t0,
        "queue_created_s": runner.queue_created_s,
        "submit_thread_priority": runner.priority,
        "batching": c.batching,
        "interrupted": e.interrupted,
        "cut_short": runner.n_submitted < p.settings["niter"],
        "stop_reason": runner.stop_reason if runner.stop.is_set() else None,
        "stopped_at_request": runner.n_submitted if runner.stop.is_set() else None,
        "own_cpu": e.own_cpu,
        "arrival": arrival.describe(p.settings),
        "warnings": p.warnings,
        "notes": p.notes,
        "errors": runner.errors,
    }
    if m.standin:
        summary["model"]["note"] = "stand-in with random weights: timing only, not accuracy"
    return summary


def derive(run, info):
    """Add batch ids, device switches and statistics to the run and its summary."""
    summary = run.summary
    if info["batching"]:
        run.columns["batch"] = analysis.batch_groups(run["completed_s"], info["batch_size"])
        summary["batches"] = analysis.batch_summary(run["batch"], info["batch_size"],
                                                    info["timeout_ms"])
    else:
        summary["batches"] = {"count": 0, "text": "no batches",
                              "note": "no batching: the compiled model is not a BATCH one"}
    switches = analysis.device_switches(run["device"], run["submitted_s"], run["latency_ms"])
    summary["device_switches"] = switches
    summary["device_switch"] = switches[0] if switches else None
    summary["stats"] = analysis.stats(run)
    summary["stats"]["compile_s"] = summary.get("compile_s")
    devices_seen = [d for d in dict.fromkeys(run["device"].tolist()) if d]
    if switches:
        summary["stats"]["per_device"] = {d: analysis.stats(run, run["device"] == d)
                                          for d in devices_seen}
        summary["device_note"] = " ; ".join(
            f"switch at request {s['request']}: {s['from']} -> {s['to']}" for s in switches)
    elif summary["settings"]["device"].startswith(("AUTO", "MULTI")):
        summary["device_note"] = (f"no device switch: {summary['settings']['device']} ran on "
                                  f"{', '.join(devices_seen) or '?'} throughout")
    return run


# ---------------------------------------------------------------- stage 6: written

@dataclass
class Result:
    """A finished experiment: its records and summary (``run``), and where they were saved."""

    run: Run
    out: str
    figure_path: str
    figure: object
    view: object = None

    @property
    def interrupted(self):
        return bool(self.run.summary.get("interrupted"))


def write(p, run, say):
    """Save records, summary, trace and figure into the run's folder."""
    out = outdir.make_out(p.out_target, p.out_default, say)
    write_csv(run, os.path.join(out, "records.csv"))
    write_json(run.summary, os.path.join(out, "summary.json"))
    write_json(trace(run), os.path.join(out, "trace.json"), compact=True)
    figure_path = os.path.join(out, FIGURE_NAMES[p.kind])
    figure = PLOTS[p.kind](run)
    figure.savefig(figure_path, dpi=110)
    return out, figure_path, figure


def say_ending(run, out, say):
    print_table(run.summary, out, say)
    s = run.summary
    if s["interrupted"] and not s["errors"]:
        if s["cut_short"]:
            say(f"stopped early at request {s['stopped_at_request']} of "
                f"{s['settings']['niter']} ({s['stop_reason']}); partial results written")
        else:
            say(f"stopped while the last requests finished ({s['stop_reason']}); "
                f"every request was submitted and completed")


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
    if interrupt.pending:
        raise Interrupted("interrupted before the first request: nothing written")
    e = execute(p, c, interrupt, say)
    run = derive(e.runner.to_run(summarize(p, m, c, e)), c.batching)
    out, figure_path, figure = write(p, run, say)
    say_ending(run, out, say)
    if e.runner.errors:
        raise RunError("; ".join(e.runner.errors[:3]) + f" (records so far saved in {out})",
                       run)
    return Result(run, out, figure_path, figure, e.view)


def show(result, interrupt):
    """The final figure in the live window, until a key, closing it, or Ctrl+C."""
    if result.view is not None and not result.interrupted and not interrupt.pending:
        result.view.show_final(result.figure_path, stop=lambda: interrupt.pending)

