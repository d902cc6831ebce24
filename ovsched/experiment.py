"""The run shared by both scripts: settings, model, compile, submit, record, report.

A script calls ``main(argv, script=__file__, kind=..., settings=..., properties=...)``;
the two scripts differ only in their settings and in the figure they draw.
"""

import datetime
import math
import os
import sys
import time

import openvino as ov

from . import analysis, display, prepare
from .plots import PLOTS
from .records import write_csv, write_json
from .runner import Runner
from .trace import trace
from .cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .settings import UsageError, apply_overrides, setting_comments, split_args

RUN_KEYS = ("model", "device", "niter", "interval", "nireq", "show", "out")
MAX_NIREQ = 1024  # each request holds its own tensors; more is never useful here
MAX_NITER = 10_000_000  # ~40 bytes of records per request
MAX_INTERVAL_MS = 3_600_000.0
FIGURE_NAMES = {"timeline": "timeline.png", "latency": "latency.png"}


class RunError(Exception):
    """The run itself failed (not the user's input): exit code 1, records kept."""


def check_settings(s):
    if s["niter"] < 1:
        raise UsageError(f"--niter={s['niter']}: the number of requests must be at least 1")
    if s["niter"] > MAX_NITER:
        raise UsageError(f"--niter={s['niter']} is more than this tool records in one run; "
                         f"use at most {MAX_NITER:,}")
    if not math.isfinite(s["interval"]) or s["interval"] > MAX_INTERVAL_MS:
        raise UsageError(f"--interval={s['interval']}: give a number of milliseconds up to "
                         f"{MAX_INTERVAL_MS:,.0f} (one hour)")
    if s["interval"] < 0:
        raise UsageError(f"--interval={s['interval']}: the interval between requests (ms) "
                         f"must be 0 or more")
    if s["nireq"] < 0:
        raise UsageError(f"--nireq={s['nireq']}: the queue size must be 0 (the compiled "
                         f"model's optimal number) or more")
    if s["nireq"] > MAX_NIREQ:
        raise UsageError(f"--nireq={s['nireq']} is more requests than can be held at once; "
                         f"use at most {MAX_NIREQ} (0 = the compiled model's optimal number)")
    if not s["device"].strip():
        raise UsageError("--device is empty; e.g. --device=CPU")
    if not s["model"].strip():
        raise UsageError("--model is empty; give the path of an IR .xml")


def plan_out(out, stem):
    """Check the output folder before anything runs; return (path, is_default)."""
    if out:
        if os.path.isfile(out):
            raise UsageError(f"--out={out} is a file; give a folder that does not exist yet")
        if os.path.isdir(out) and os.listdir(out):
            raise UsageError(f"--out={out} already holds files; give a new folder (an "
                             f"earlier run is never overwritten) or leave out empty")
        target, default = out, False
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        target, default = os.path.join("runs", f"{stem}-{stamp}"), True
    parent = os.path.abspath(target)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write results under {parent}; give --out=FOLDER somewhere "
                         f"writable")
    return target, default


def make_out(target, default):
    """Create the output folder; a default name that exists already gets a suffix."""
    if not default:
        os.makedirs(target, exist_ok=True)
        if not os.listdir(target):
            return target
        print(f"warning: {target} was filled by something else during the run; "
              f"writing beside it instead")
    for n in range(1, 1000):
        path = target if n == 1 else f"{target}-{n}"
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            continue
    raise RunError(f"cannot find a free folder name beside {target}")


def help_text(script, settings, properties, presets):
    comments = setting_comments(script)
    lines = [f"usage: python {os.path.basename(script)} [--key=value ...]", ""]
    lines.append("Run settings (lower case):")
    width = max(len(f"--{k}={v!r}") for k, v in settings.items()) + 2
    for key, value in settings.items():
        lines.append(f"  {f'--{key}={value!r}':<{width}}{comments.get(key, '')}")
    lines.append("")
    lines.append("OpenVINO properties for compile_model (UPPER_CASE; --KEY= removes one):")
    width = max((len(f"--{k}={v}") for k, v in properties.items()), default=0) + 2
    for key, value in properties.items():
        lines.append(f"  {f'--{key}={value}':<{width}}{comments.get(key, '')}")
    if presets:
        lines.append("")
        lines.append("Presets (--preset=NAME; other overrides apply on top):")
        for name, preset in presets.items():
            lines.append(f"  {name:<8} {preset['about']}")
    try:
        devices = ", ".join(ov.Core().available_devices)
    except Exception as e:  # help must print even if a plugin is broken
        devices = f"unknown ({prepare.essential(e)})"
    lines.append("")
    lines.append(f"Devices on this machine: {devices} (plus AUTO, MULTI:..., BATCH:DEVICE(N))")
    lines.append(f"OpenVINO {ov.get_version()}")
    return "\n".join(lines)


def runtime_batch(compiled):
    """Batch dimension of the network the device really runs, or None when unknown."""
    try:
        shape = compiled.get_runtime_model().inputs[0].get_partial_shape()
        return shape[0].get_length() if shape.rank.is_static and shape[0].is_static else None
    except Exception:  # not every plugin exposes its runtime model
        return None


def batching_info(compiled, device, properties):
    """Batch size and timeout when the compiled model batches; a warning when it fell back."""
    timeout = prepare.read_property(compiled, "AUTO_BATCH_TIMEOUT")
    requested = None
    for _name, batch in prepare.split_device(device):
        if batch:
            requested = int(batch)
    hint = properties.get("PERFORMANCE_HINT", "").upper()
    implicit = ("GPU" in device and hint == "THROUGHPUT"
                and properties.get("ALLOW_AUTO_BATCHING", "YES").upper() in ("YES", "TRUE"))
    asked = device.startswith("BATCH:") or implicit
    # A BATCH model that cannot re-batch the network keeps its BATCH properties but runs
    # the network unbatched: the batch of the network it really runs tells the two apart.
    size = runtime_batch(compiled) if timeout is not None else None
    model_batch = 1
    if compiled.inputs:
        shape = compiled.inputs[0].get_partial_shape()
        if shape.rank.is_static and shape.rank.get_length() > 0:
            model_batch = shape[0].get_length()
    batching = size is not None and size > model_batch
    warning = None
    if device.startswith("BATCH:") and requested is None and not batching:
        warning = (f"{device} gives no batch size and the device chose none (a CPU has no "
                   f"OPTIMAL_BATCH_SIZE), so nothing is batched: give one, e.g. {device}(8)")
    elif asked and not batching:
        warning = ("batching was asked for but OpenVINO runs this model unbatched (batch 1): "
                   "the model's batch dimension is probably fixed, e.g. by a Reshape to a "
                   "constant shape; re-export it with a free batch dimension")
    return {"batching": batching, "batch_size": size // model_batch if batching else None,
            "requested_batch_size": requested,
            "timeout_ms": int(timeout) if batching else None}, warning


def cache_warning(device, properties, available):
    """Warn when AUTO would load an accelerator's cached blob and skip its CPU phase."""
    cache = properties.get("CACHE_DIR")
    if not cache or not device.startswith("AUTO") or not os.path.isdir(cache):
        return None
    listed = [name for name, _ in prepare.split_device(device)] or available
    accelerators = [d for d in available if d.split(".")[0] != "CPU"
                    and any(d == n or d.split(".")[0] == n for n in listed)]
    if not accelerators or not any(f.endswith(".blob") for f in os.listdir(cache)):
        return None
    return (f"CACHE_DIR={cache} holds compiled blobs: AUTO loads the cached "
            f"{accelerators[0]} model at once and skips the CPU start-up phase, so no device "
            f"switch will show; use --CACHE_DIR= to see it")


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
    devices = [d for d in dict.fromkeys(run["device"].tolist()) if d]
    if switches:
        summary["stats"]["per_device"] = {d: analysis.stats(run, run["device"] == d)
                                          for d in devices}
        summary["device_note"] = " ; ".join(
            f"switch at request {s['request']}: {s['from']} -> {s['to']}" for s in switches)
    elif summary["settings"]["device"].startswith(("AUTO", "MULTI")):
        summary["device_note"] = (f"no device switch: {summary['settings']['device']} ran on "
                                  f"{', '.join(devices) or '?'} throughout")


def print_table(summary, out):
    s = summary["stats"]
    lat, late = s["latency_ms"], s["lateness_ms"]

    def f(v, unit=""):
        return "-" if v is None else f"{v:.2f}{unit}"

    print(f"\n{s['count']} of {s['submitted']} submitted requests completed in "
          f"{s['duration_s']:.2f} s ({f(s['throughput_fps'])} inferences/s)")
    print("latency ms   median {}  mean {}  min {}  max {}  p90 {}  p99 {}".format(
        *(f(lat[k]) for k in ("median", "mean", "min", "max", "p90", "p99"))))
    print(f"lateness ms  p50 {f(late['p50'])}  p99 {f(late['p99'])}  max {f(late['max'])}   "
          f"compile {f(s.get('compile_s'), ' s')}  first latency {f(s['first_latency_ms'], ' ms')}")
    for device, d in (s.get("per_device") or {}).items():
        print(f"  on {device}: {d['count']} requests, latency median "
              f"{f(d['latency_ms']['median'])} ms, p99 {f(d['latency_ms']['p99'])} ms")
    if summary.get("batches", {}).get("count"):
        print(f"batches: {summary['batches']['text']}")
    if summary.get("device_note"):
        print(summary["device_note"])
    print(f"results: {out}")


def wait_for(runner, view, interrupt, progress):
    """Main thread: draw or report progress until every submitted request ended."""
    while True:
        if interrupt.pending:
            runner.request_stop("interrupted (Ctrl+C)")
        if view is not None and not view.update(runner):
            runner.request_stop(view.stop_reason or "window closed")
        if runner.wait(0.03 if view is not None else 0.1):
            break
        progress.update(runner)
    progress.finish(runner)


class Progress:
    """One status line: rewritten in a terminal, printed every 10 s into a log."""

    def __init__(self, expected_s, stream=sys.stdout):
        self.stream = stream
        self.tty = stream.isatty()
        self.enabled = expected_s > 3
        self.every = 0.5 if self.tty else 10.0
        self.last = time.perf_counter()

    def line(self, runner):
        n = runner.n_submitted
        done = runner.n_completed
        latest = ""
        if done:
            i = runner.done_order[-1]
            latest = f"  latest {(runner.completed[i] - runner.submitted[i]) * 1e3:.1f} ms"
        return (f"submitted {n}/{runner.niter}  completed {done}  in flight {n - done}{latest}")

    def update(self, runner):
        now = time.perf_counter()
        if not self.enabled or now - self.last < self.every:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + self.line(runner).ljust(78))
        else:
            self.stream.write(self.line(runner) + "\n")
        self.stream.flush()

    def finish(self, runner):
        if self.enabled and self.tty:
            self.stream.write("\r" + self.line(runner).ljust(78) + "\n")
            self.stream.flush()


def main(argv, *, script, kind, settings, properties, presets, interrupt):
    """Run one experiment; return the exit code. ``interrupt`` counts SIGINTs."""
    stem = os.path.splitext(os.path.basename(script))[0]
    if any(a in ("-h", "--help") for a in argv):
        print(help_text(script, settings, properties, presets))
        return EXIT_OK
    try:
        return _run(argv, script, stem, kind, settings, properties, presets, interrupt)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _run(argv, script, stem, kind, defaults, default_props, presets, interrupt):
    pairs = split_args(argv)
    preset_name, preset_note = None, None
    for key, value in pairs:
        if key == "preset":
            preset_name = value
    pairs = [(k, v) for k, v in pairs if k != "preset"]
    settings, properties = dict(defaults), dict(default_props)
    if preset_name is not None:
        if preset_name not in presets:
            raise UsageError(f"unknown preset {preset_name!r}; presets are "
                             f"{', '.join(presets) or 'none'} (see --help)")
        preset = presets[preset_name]
        settings.update(preset.get("settings", {}))
        if "no_gpu" in preset and not prepare.has_device(ov.Core(), "GPU"):
            settings["device"] = preset["no_gpu"]["device"]
            preset_note = preset["no_gpu"]["why"]
        properties.update(preset.get("properties", {}))
        for key in preset.get("remove", ()):
            properties.pop(key, None)
    settings, properties = apply_overrides(pairs, settings, properties)
    check_settings(settings)
    prepare.check_properties(properties)
    out_target, out_default = plan_out(settings["out"], stem)

    print(f"OpenVINO {ov.get_version()}")
    if preset_name:
        print(f"preset {preset_name}: {presets[preset_name]['about']}")
        if preset_note:
            print(f"  {preset_note}")
    core = ov.Core()
    device = settings["device"].strip()
    prepare.check_device(core, device)
    model_given = any(key == "model" for key, _ in pairs) or \
        "model" in (presets.get(preset_name) or {}).get("settings", {})
    model_path, is_standin = prepare.locate_model(settings["model"], not model_given)
    model = prepare.read_model(core, model_path)
    reshaped = prepare.make_static(model)
    inputs, outputs = prepare.describe_ports(model.inputs), prepare.describe_ports(model.outputs)
    print(f"model   {model_path}")
    if is_standin:
        print("        STAND-IN with random weights: fine for timing, meaningless for accuracy")
    for port in inputs:
        print(f"  input  {port['name']} {port['shape']} {port['type']}")
    for port in outputs:
        print(f"  output {port['name']} {port['shape']} {port['type']}")
    if reshaped:
        print(f"  note: {reshaped}")
    print(f"device  {device}")
    print("settings   " + " ".join(f"{k}={v!r}" for k, v in settings.items()))
    print("properties " + (" ".join(f"{k}={v}" for k, v in properties.items()) or "(none)"))
    warnings = []
    warning = cache_warning(device, properties, list(core.available_devices))
    if warning:
        warnings.append(warning)
        print(f"warning: {warning}")

    compiled, compile_s = prepare.compile_model(core, model, device, properties)
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    exec_devices = prepare.device_text(compiled.get_property("EXECUTION_DEVICES"))
    nireq = settings["nireq"] or optimal
    info, warning = batching_info(compiled, device, properties)
    print(f"compiled in {compile_s:.2f} s; OPTIMAL_NUMBER_OF_INFER_REQUESTS {optimal}; "
          f"EXECUTION_DEVICES {exec_devices}; queue of {nireq} requests")
    if info["batching"]:
        print(f"batching: batch size {info['batch_size']}, "
              f"AUTO_BATCH_TIMEOUT {info['timeout_ms']} ms")
    if warning:
        warnings.append(warning)
        print(f"warning: {warning}")
    if interrupt.pending:
        print("interrupted before the first request: nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED

    show = settings["show"]
    view = None
    if show:
        if display.available():
            from . import live
            view = live.make_view(kind, settings, device)
        else:
            print(f"no display ({display.reason()}): live view and window skipped; "
                  f"the figure is saved as PNG")
    poll = device.startswith(("AUTO", "MULTI"))
    runner = Runner(compiled, nireq, settings["niter"], settings["interval"], poll, exec_devices)
    interrupt.started = True
    expected = settings["niter"] * settings["interval"] / 1e3
    print(f"submitting {settings['niter']} requests, one every {settings['interval']} ms "
          f"(about {expected:.1f} s)", flush=True)
    started_at = datetime.datetime.now().isoformat(timespec="seconds")
    runner.start()
    try:
        wait_for(runner, view, interrupt, Progress(expected))
    finally:
        if view is not None:
            view.close_live()

    # stopped by the user (ESC, q, closing the window, Ctrl+C), not by an error
    interrupted = runner.stop.is_set() and not runner.errors
    summary = {
        "script": os.path.basename(script),
        "kind": kind,
        "openvino_version": ov.get_version(),
        "started_at": started_at,
        "preset": preset_name,
        "preset_note": preset_note,
        "settings": settings,
        "properties": properties,
        "model": {"path": model_path, "name": os.path.splitext(os.path.basename(
            settings["model"]))[0], "standin": is_standin,
                  "inputs": inputs, "outputs": outputs, "reshaped": reshaped},
        "device": device,
        "execution_devices": exec_devices,
        "optimal_number_of_infer_requests": optimal,
        "nireq": nireq,
        "compile_s": compile_s,
        "submit_thread_priority": runner.priority,
        "batching": info,
        "interrupted": interrupted,
        "cut_short": runner.n_submitted < settings["niter"],
        "stop_reason": runner.stop_reason if runner.stop.is_set() else None,
        "stopped_at_request": runner.n_submitted if runner.stop.is_set() else None,
        "warnings": warnings,
        "errors": runner.errors,
    }
    if is_standin:
        summary["model"]["note"] = "stand-in with random weights: timing only, not accuracy"
    run = runner.to_run(summary)
    derive(run, info)
    out = make_out(out_target, out_default)
    write_csv(run, os.path.join(out, "records.csv"))
    write_json(run.summary, os.path.join(out, "summary.json"))
    write_json(trace(run), os.path.join(out, "trace.json"), compact=True)
    figure_path = os.path.join(out, FIGURE_NAMES[kind])
    figure = PLOTS[kind](run)
    figure.savefig(figure_path, dpi=110)
    print_table(run.summary, out)
    if runner.errors:
        raise RunError("; ".join(runner.errors[:3]) + f" (records so far saved in {out})")
    if interrupted:
        if runner.n_submitted < settings["niter"]:
            print(f"stopped early at request {runner.n_submitted} of {settings['niter']} "
                  f"({runner.stop_reason}); partial results written")
        else:
            print(f"stopped while the last requests finished ({runner.stop_reason}); "
                  f"every request was submitted and completed")
        return EXIT_INTERRUPTED
    if interrupt.pending:
        return EXIT_INTERRUPTED
    if view is not None:
        view.show_final(figure_path, lambda: interrupt.pending)
    return EXIT_INTERRUPTED if interrupt.pending else EXIT_OK


