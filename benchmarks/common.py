"""What the sections share: the model, compiling, our runs, the script's runs, benchmark_app.

Every import from ovsched lives in this one module, so that a change of the core's module
names is one edit here; the sections import what they need from ``benchmarks.common``.
"""

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import openvino as ov

from benchmarks import pairs
from ovsched import utilization
from ovsched.derive import analysis
from ovsched.run import model_inputs, model_read, models, standin
from ovsched.data import records, runfile
from ovsched.views.plots import plot_latency, plot_timeline
from ovsched.derive.device_names import device_text
from ovsched.run.runner import Runner
from ovsched.views.trace import trace

__all__ = [
    "INTERVAL_MS",
    "LATENCY_SCRIPT",
    "ROOT",
    "analysis",
    "benchmark_app",
    "compile_model",
    "compile_on",
    "device_text",
    "ended",
    "find_benchmark_app",
    "median",
    "ov",
    "peak_rss_mb",
    "plot_latency",
    "plot_timeline",
    "records",
    "Runner",
    "run_ours",
    "runfile",
    "run_script",
    "script_env",
    "standin",
    "standin_model",
    "start_script",
    "trace",
    "utilization",
    "wait_child",
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENCY_SCRIPT = os.path.join(ROOT, "auto-test-latency-graph.py")
INTERVAL_MS = 30.0  # both scripts' default interval, and the original's
HAS_WAIT4 = hasattr(os, "wait4")  # POSIX only: a child's own resource usage
HAS_WAITID = hasattr(os, "waitid")  # POSIX only: "has it ended?" without reaping it


def median(values):
    return float(np.median(values))


# ---------------------------------------------------------------- models and our runs

def standin_model():
    """The scripts' GoogLeNet stand-in, built where they keep it if it is not there yet."""
    path = models.standin_path()
    if not (os.path.exists(path) and os.path.exists(path[:-4] + ".bin")):
        print(f"building the GoogLeNet stand-in at {path}", flush=True)
        standin.save_fp16(standin.build_googlenet(seed=0), path)
    return path


def compile_model(ctx, hint):
    return compile_on(ctx, ctx.device, hint)


def compile_on(ctx, device, hint, properties=None):
    """ctx.model compiled on ``device`` with the hint (and any other properties), one
    inference run."""
    model = model_read.read_model_any(ctx.core, ctx.model)
    model_inputs.make_static(model)  # as the scripts do, so a dynamic batch becomes 1
    compiled = ctx.core.compile_model(model, device,
                                      {"PERFORMANCE_HINT": hint, **(properties or {})})
    # benchmark_app runs one inference outside its statistics; so do we, so that both
    # measure the steady state rather than the first inference's one-off set-up
    request = compiled.create_infer_request()
    for tensor in request.input_tensors:
        tensor.data[...] = 0
    request.infer()
    return compiled


def run_ours(compiled, nireq, niter, interval_ms):
    """One run of the scripts' scheduler, in this process; returns the records as a Run."""
    runner = Runner(compiled, nireq, np.arange(niter) * (interval_ms / 1e3))
    runner.start()
    while not runner.wait(0.1):
        pass
    if runner.errors:
        raise RuntimeError("; ".join(runner.errors[:3]))
    return runner.to_run()


# ---------------------------------------------------------------- the script as a child

def script_env(display=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONUNBUFFERED"] = "1"
    if display:
        env["DISPLAY"] = display
    return env


def start_script(args, out, env):
    """Start auto-test-latency-graph.py writing into ``out``; returns (process, log path)."""
    log = out + ".log"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, LATENCY_SCRIPT, *args, f"--out={out}"],
                                cwd=os.path.dirname(out), env=env, stdout=f,
                                stderr=subprocess.STDOUT)
    return proc, log


def run_script(args, out, env, timeout):
    """Run auto-test-latency-graph.py to completion; return (summary, peak RSS in MB or
    None where the OS cannot tell a child's own peak)."""
    proc, log = start_script(args, out, env)
    rss_mb = wait_child(proc, timeout, log)
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f), rss_mb


def peak_rss_mb(ru_maxrss):
    """ru_maxrss in MB: the kernel reports bytes on macOS and kibibytes on Linux/BSD."""
    return ru_maxrss / 2**20 if sys.platform == "darwin" else ru_maxrss / 1024


def ended(proc):
    """Whether a child has ended. With os.waitid the child is not reaped, so os.wait4 can
    still read its resource usage; elsewhere Popen.poll reaps it and its peak is lost."""
    if HAS_WAITID:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return proc.poll() is not None


def _fail_on_exit_code(proc, log):
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-2000:]
        raise RuntimeError(f"auto-test-latency-graph.py exited with {proc.returncode}:\n{tail}")


def wait_child(proc, timeout, log):
    """Wait for a child; return its peak RSS in MB, or None where that is unknown.

    os.wait4 gives that child's own rusage; getrusage(RUSAGE_CHILDREN) would be the largest
    of all children so far. Without os.wait4 (Windows) the peak is not measured."""
    end = time.time() + timeout
    if not HAS_WAIT4 or proc.returncode is not None:
        try:
            proc.wait(max(0.0, end - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{LATENCY_SCRIPT} ran longer than {timeout:.0f} s; "
                               f"see {log}") from None
        _fail_on_exit_code(proc, log)
        return None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > end:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{LATENCY_SCRIPT} ran longer than {timeout:.0f} s; see {log}")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    _fail_on_exit_code(proc, log)
    return peak_rss_mb(usage.ru_maxrss)


# ---------------------------------------------------------------- benchmark_app

def find_benchmark_app():
    """The benchmark_app of this environment's openvino package (so, the same version)."""
    folder = os.path.dirname(sys.executable)
    for name in ("benchmark_app", "benchmark_app.exe"):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def benchmark_app(ctx, hint, seconds):
    """Run benchmark_app; return (median latency ms, throughput FPS, its measuring line)."""
    cmd = [ctx.bench, "-m", ctx.model, "-d", ctx.device, "-hint", hint, "-t", str(seconds)]
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds * 5 + 180)
    text = p.stdout + p.stderr
    median_ms = re.search(r"Median:\s*([0-9.]+)\s*ms", text)
    fps = re.search(r"Throughput:\s*([0-9.]+)\s*FPS", text)
    if p.returncode != 0 or not median_ms or not fps:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{text[-1500:]}")
    mode = re.search(r"Measuring performance \(([^)]*)\)", text)
    return float(median_ms.group(1)), float(fps.group(1)), mode.group(1) if mode else ""


def against_benchmark_app(ctx, section, ours_once, theirs_once, n_pairs, show):
    """``(measured, ours)``: our figure and benchmark_app's in ABBA pairs where benchmark_app
    is installed (``measured`` as pairs.measure_pairs returns it), else ours alone with the
    comparison reported as skipped (``measured`` None). ``show`` formats one figure."""
    def progress(i, a, b):
        print(f"  pair {i + 1}: ours {show(a)}, benchmark_app {show(b)}", flush=True)

    if ctx.bench:
        measured = pairs.measure_pairs(ours_once, theirs_once, n_pairs, progress)
        return measured, measured["a"]
    ctx.report.skip(section, "benchmark_app comparison", ctx.bench_why)
    return None, [ours_once() for _ in range(n_pairs)]
