"""The tool's own threads against the floor: the least any Python client pays for the same
OpenVINO calls.

The floor is a bare loop on the same compiled model, device string and schedule: sleep until
due, ``get_idle_request_id``, ``start_async``, and a completion callback that stores one
timestamp. It is measured the way the tool measures itself, ``time.thread_time()`` in its
submit thread and inside its callback. The tool is ``ovsched``'s Runner with the scripts'
settings (interval 30 ms, the compiled model's optimal queue, THROUGHPUT); its figure is the
CPU time of every thread it adds (submit, completion callback, AUTO's device reader, the
profile reader when profiling is on), per request. Tool and floor run in ABBA pairs, one
ratio tool / floor per pair, and the median ratio's 95 % bootstrap interval decides: PASS
when the interval's top is <= 1.15, MISS when its bottom is above, INCONCLUSIVE otherwise.
Thread CPU time is not blurred by OpenVINO's spinning workers, and alternating pairs keep a
slow drift of other programs' load out of the ratio. The target holds with profiling off
(PERF_COUNT=NO for both); the same comparison with profiling on (PERF_COUNT=YES for both,
the tool reading every request's profile on its thread, as ``profile=auto`` does on the CPU)
is information.
"""

import os
import threading
import time

import numpy as np

from benchmarks import pairs

DOC = "CPU time per request of the tool's own threads / the floor's (a bare loop of the " \
      "same OpenVINO calls), in ABBA pairs, on CPU and AUTO"
DEVICES = ("CPU", "AUTO")
INTERVAL_MS = 30.0  # both scripts' default
HINT = "THROUGHPUT"  # both scripts' default
TARGET = ("<=", 1.15)  # the tool's added-thread CPU time / the floor's, profiling off
SIZES = {"full": {"pairs": 10, "requests": 100}, "quick": {"pairs": 3, "requests": 30}}


def set_priority_like(priority):
    """Give the calling thread the submit thread's real-time priority when the tool's got
    it, so that tool and floor wake alike (Linux only; elsewhere nothing is asked for)."""
    if priority != "default" and hasattr(os, "sched_setscheduler"):
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except OSError:
            pass


def floor_round(compiled, nireq, due_s, priority="default"):
    """One run of the bare loop; returns {"requests", "submit_s", "callback_s", "cpu_s"}:
    CPU seconds of its submit thread and of its callbacks, summed."""
    from benchmarks.common import ov

    queue = ov.AsyncInferQueue(compiled, nireq)
    for request in queue:
        for tensor in request.input_tensors:
            tensor.data[...] = 0
    n = len(due_s)
    stamps = np.zeros(n)
    callback_cpu = np.zeros(n)

    def completed(_request, i):
        cpu0 = time.thread_time()
        stamps[i] = time.perf_counter()
        callback_cpu[i] = time.thread_time() - cpu0

    queue.set_callback(completed)
    box = {}

    def submit_all():
        set_priority_like(priority)
        cpu0 = time.thread_time()
        t0 = time.perf_counter()
        for i in range(n):
            left = due_s[i] - (time.perf_counter() - t0)
            if left > 0:
                time.sleep(left)
            queue.get_idle_request_id()
            queue.start_async(None, i)
        box["submit_s"] = time.thread_time() - cpu0

    thread = threading.Thread(target=submit_all, name="floor submit", daemon=True)
    thread.start()
    thread.join()
    queue.wait_all()
    callback_s = float(callback_cpu.sum())
    return {"requests": n, "submit_s": box["submit_s"], "callback_s": callback_s,
            "cpu_s": box["submit_s"] + callback_s}


def tool_round(compiled, nireq, due_s, device, profile=False):
    """One run of the tool's Runner as the scripts make it; returns {"requests",
    "submit_s", "callback_s", "reader_s", "profile_s", "cpu_s", "priority"}: CPU seconds of
    each thread it adds (the device reader on AUTO/MULTI, the profile reader with
    ``profile``)."""
    from benchmarks.common import Runner, device_text

    poll = device.startswith(("AUTO", "MULTI"))  # as the scripts decide it
    names = device_text(compiled.get_property("EXECUTION_DEVICES"))
    runner = Runner(compiled, nireq, due_s, poll, names, profile=profile)
    runner.start()
    while not runner.wait(0.1):
        pass
    if runner.errors:
        raise RuntimeError("; ".join(runner.errors[:3]))
    n = runner.n_submitted
    callback_s = float(runner.callback_cpu_s[:n].sum())
    profile_s = runner.profiles.cpu_s if runner.profiles is not None else 0.0
    cpu_s = runner.submit_cpu_s + callback_s + runner.reader_cpu_s + profile_s
    readings = sum(r["readings"] for r in runner.device_readings() or [])
    return {"requests": n, "submit_s": runner.submit_cpu_s, "callback_s": callback_s,
            "reader_s": runner.reader_cpu_s, "profile_s": profile_s, "cpu_s": cpu_s,
            "priority": runner.priority, "device_readings": readings}


def per_request_us(rounds, key="cpu_s"):
    """CPU time per request of each round, in us."""
    return [r[key] / r["requests"] * 1e6 for r in rounds]


def measure_device(ctx, device, size, profile=False):
    """Tool against floor in ABBA pairs on one device string, both on the same compiled
    model (with PERF_COUNT=YES when ``profile``): (measured, tool rounds, floor rounds,
    nireq)."""
    from benchmarks.common import compile_on

    compiled = compile_on(ctx, device, HINT, {"PERF_COUNT": "YES" if profile else "NO"})
    nireq = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    due_s = np.arange(size["requests"]) * (INTERVAL_MS / 1e3)
    tool, floor = [], []
    priority = {"value": "default"}

    def tool_once():
        r = tool_round(compiled, nireq, due_s, device, profile)
        priority["value"] = r["priority"]
        tool.append(r)
        return r["cpu_s"] / r["requests"]

    def floor_once():
        r = floor_round(compiled, nireq, due_s, priority["value"])
        floor.append(r)
        return r["cpu_s"] / r["requests"]

    def progress(i, a, b):
        print(f"  {device}{' profiling on' if profile else ''} pair {i + 1}: tool "
              f"{a * 1e6:.1f} us, floor {b * 1e6:.1f} us per request", flush=True)

    measured = pairs.measure_pairs(tool_once, floor_once, size["pairs"], progress)
    return measured, tool, floor, nireq


def run(ctx, size):
    for device in DEVICES:
        for profile in (False, True):
            try:
                measured, tool, floor, nireq = measure_device(ctx, device, size, profile)
            except RuntimeError as e:  # a device this machine cannot compile for
                ctx.report.skip("floor", f"on {device}", str(e).splitlines()[0])
                break
            report_device(ctx, device, profile, size, measured, tool, floor, nireq)


def report_device(ctx, device, profile, size, measured, tool, floor, nireq):
    key = device.lower() + ("_profile" if profile else "")
    how = "profiling on, PERF_COUNT=YES" if profile else "profiling off"
    ctx.report.detail("floor", **{key: {
        "nireq": nireq, "interval_ms": INTERVAL_MS, "hint": HINT, "profile": profile,
        "requests": size["requests"], "pairs": size["pairs"], "tool": tool, "floor": floor}})
    peers = {"floor": float(np.median(per_request_us(floor))),
             "of the tool's: submit": float(np.median(per_request_us(tool, "submit_s"))),
             "callback": float(np.median(per_request_us(tool, "callback_s")))}
    if device.startswith(("AUTO", "MULTI")):
        peers["device reader"] = float(np.median(per_request_us(tool, "reader_s")))
        peers["EXECUTION_DEVICES readings per request"] = float(np.median(
            [r["device_readings"] / r["requests"] for r in tool]))
    if profile:
        peers["profile reader"] = float(np.median(per_request_us(tool, "profile_s")))
    ctx.report.add("floor", f"{key}_tool_us",
                   f"{device}: the tool's added threads' CPU time per request ({how})",
                   float(np.median(per_request_us(tool))), "us", peers=peers)
    # the target holds with profiling off; with it on the figure is information: reading
    # every request's profile is work the floor does not do
    ctx.report.add_comparison(
        "floor", f"{key}_ratio",
        f"{device}: tool / floor CPU time per request, median of pairs ({how})",
        measured, None if profile else TARGET)
