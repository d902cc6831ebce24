"""What the tool adds to a run, each part measured on its own.

- AUTO's ``EXECUTION_DEVICES`` read (the tool reads it before every submit and after every
  completion while AUTO's CPU helper may run requests, then at most every 0.25 s; the
  floor section counts the readings a run makes): CPU time of one read, on a thread that
  sleeps the scripts' 30 ms between reads as the submit thread does, so that the read runs
  as cold as it does in a run.
- Reading a request's profile (``profiling_info`` with ``PERF_COUNT=YES``, read as the tool's
  profile reader reads it): CPU time per request, read after each paced request completed.
  (The profile reader thread's whole cost in a run is in the floor section.)
- ``PERF_COUNT``'s effect on latency: median latency with ``PERF_COUNT=YES`` / ``NO``, back
  to back with one request in flight, in ABBA pairs (information: no target).
- The utilization sampler with the Linux GPU and NPU readers active on fake /proc and /sys
  trees (two cards, i915 and xe, three DRM clients, an NPU): its thread's CPU time per tick
  and as a share of one core. The files are small and in the page cache, so the kernel's
  own cost of producing real fdinfo and sysfs readings (which on xe wakes the device) is
  not in it.
"""

import os
import tempfile
import threading
import time
from contextlib import contextmanager

import numpy as np

from benchmarks import pairs

DOC = "what the tool adds, each on its own: AUTO's device reads, profile reads, " \
      "PERF_COUNT on latency, the sampler with GPU readers on fake trees"
GAP_S = 0.03  # the scripts' interval between submits
SAMPLER_UTIL_MS = 100.0  # the scripts' default
SIZES = {
    "full": {"reads": 200, "profiles": 100, "pairs": 10, "requests": 100,
             "sampler_s": 3.0, "sampler_pairs": 6},
    "quick": {"reads": 30, "profiles": 20, "pairs": 3, "requests": 20,
              "sampler_s": 1.0, "sampler_pairs": 3},
}
I915_PDEV, XE_PDEV = "0000:00:02.0", "0000:03:00.0"


def paced_cpu_us(call, n, gap_s=GAP_S):
    """Median CPU time of ``call()`` in us, on a new thread that sleeps ``gap_s`` before
    each call (a thread woken from a sleep runs the call cold, as in a run)."""
    cpu_s = []

    def loop():
        for _ in range(n):
            time.sleep(gap_s)
            cpu0 = time.thread_time()
            call()
            cpu_s.append(time.thread_time() - cpu0)

    thread = threading.Thread(target=loop, name="paced calls", daemon=True)
    thread.start()
    thread.join()
    return float(np.median(cpu_s)) * 1e6


def execution_devices_read_us(ctx, n):
    """CPU time of one read of AUTO's EXECUTION_DEVICES as the tool makes it (DeviceLog)."""
    from benchmarks.common import compile_on, device_text
    from ovsched.derive.switch import DeviceLog

    compiled = compile_on(ctx, "AUTO", "THROUGHPUT")
    t0 = time.perf_counter()
    log = DeviceLog(compiled, lambda: time.perf_counter() - t0,
                    device_text(compiled.get_property("EXECUTION_DEVICES")))
    return paced_cpu_us(log.read, n)


def profile_sum_ms(request):
    """A finished request's profile read as the tool's profile reader reads it (real and CPU
    times of every operation, the key that tells equal profiles apart); the sum of
    real_time in ms."""
    info = request.profiling_info
    real = tuple(p.real_time for p in info)
    _key = real + tuple(p.cpu_time for p in info)
    return sum(real, real[0] * 0).total_seconds() * 1e3


def profile_read_us(ctx, n):
    """CPU time per request of reading its profile, read after each paced request ended."""
    from benchmarks.common import compile_on

    compiled = compile_on(ctx, ctx.device, "THROUGHPUT", {"PERF_COUNT": "YES"})
    request = compiled.create_infer_request()
    for tensor in request.input_tensors:
        tensor.data[...] = 0
    sums = []

    def read():
        request.start_async()
        request.wait()
        time.sleep(GAP_S)  # as cold as a reader thread woken by a completion
        cpu0 = time.thread_time()
        sums.append(profile_sum_ms(request))
        return time.thread_time() - cpu0

    cpu_s = [read() for _ in range(n)]
    ops = len(request.profiling_info)
    return float(np.median(cpu_s)) * 1e6, ops, float(np.median(sums))


def perf_count_latency(ctx, size):
    """Median latency with PERF_COUNT=YES and =NO in ABBA pairs (pairs.measure_pairs)."""
    from benchmarks.common import compile_on, median, run_ours

    on = compile_on(ctx, ctx.device, "LATENCY", {"PERF_COUNT": "YES"})
    off = compile_on(ctx, ctx.device, "LATENCY", {"PERF_COUNT": "NO"})

    def once(compiled):
        return median(run_ours(compiled, 1, size["requests"], 0)["latency_ms"])

    def progress(i, a, b):
        print(f"  pair {i + 1}: median latency PERF_COUNT=YES {a:.2f} ms, NO {b:.2f} ms",
              flush=True)

    return pairs.measure_pairs(lambda: once(on), lambda: once(off), size["pairs"], progress)


# ---------------------------------------------------------------- sampler on fake trees

def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_fake_trees(root):
    """Fake /proc and /sys under ``root`` with two Intel cards (i915, xe), three DRM clients
    of this process and one NPU; returns (proc_root, sys_root)."""
    proc, sys_root = os.path.join(root, "proc"), os.path.join(root, "sys")
    fdinfo = os.path.join(proc, "self", "fdinfo")
    _write(os.path.join(fdinfo, "0"), "pos:\t0\nflags:\t02\nmnt_id:\t25\n")
    for n, (driver, pdev) in enumerate((("i915", I915_PDEV), ("xe", XE_PDEV))):
        device = os.path.join(sys_root, "class", "drm", f"card{n}", "device")
        _write(os.path.join(device, "uevent"), f"DRIVER={driver}\nPCI_SLOT_NAME={pdev}\n")
    _write(os.path.join(sys_root, "class", "drm", "card0", "gt", "gt0", "rc6_residency_ms"),
           "5000\n")
    _write(os.path.join(sys_root, "class", "drm", "card1", "device", "tile0", "gt0", "gtidle",
                        "idle_residency_ms"), "5000\n")
    i915 = ["pos:\t0", "flags:\t02100002", "drm-driver:\ti915", f"drm-pdev:\t{I915_PDEV}"]
    for fd, client in ((5, 7), (6, 7), (9, 8)):
        lines = i915 + [f"drm-client-id:\t{client}", "drm-engine-render:\t1000000 ns",
                        "drm-engine-copy:\t0 ns", "drm-engine-video:\t2000000 ns",
                        "drm-engine-video-enhance:\t0 ns", "drm-engine-capacity-video:\t2"]
        _write(os.path.join(fdinfo, str(fd)), "\n".join(lines) + "\n")
    xe = ["drm-driver:\txe", f"drm-pdev:\t{XE_PDEV}", "drm-client-id:\t3"]
    for cls in ("rcs", "bcs", "vcs", "vecs", "ccs"):
        xe += [f"drm-cycles-{cls}:\t1000", f"drm-total-cycles-{cls}:\t192000000"]
    _write(os.path.join(fdinfo, "11"), "\n".join(xe) + "\n")
    _write(os.path.join(sys_root, "class", "accel", "accel0", "device", "npu_busy_time_us"),
           "7000000\n")
    return proc, sys_root


@contextmanager
def utilization_roots(proc, sys_root):
    from benchmarks.common import utilization

    saved = {k: os.environ.get(k) for k in (utilization.PROC_ROOT_ENV,
                                             utilization.SYS_ROOT_ENV)}
    os.environ[utilization.PROC_ROOT_ENV] = proc
    os.environ[utilization.SYS_ROOT_ENV] = sys_root
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def sampler_round(util_ms, seconds):
    """One sampler run under the roots set now: (CPU s, wall s, ticks, sources)."""
    from benchmarks.common import utilization

    sampler = utilization.Sampler(util_ms).start()
    time.sleep(seconds)
    sampler.stop()
    if sampler.warnings:
        raise RuntimeError("; ".join(sampler.warnings))
    samples = sampler.samples()
    sources = sorted(set(samples["source"]))
    ticks = sum(1 for s in samples["source"] if s == "cpu") or 1
    return sampler.cpu_s, sampler.wall_s, ticks, sources


def sampler_on_fake_trees(tmp, size):
    """The sampler with GPU/NPU readers on fake trees (A) and without them (B, empty
    trees: the CPU readers alone) in ABBA pairs of CPU time per tick
    (pairs.measure_pairs), and the rounds: {"gpu": [...], "none": [...]} of
    (cpu_s, wall_s, ticks, sources)."""
    full = make_fake_trees(tempfile.mkdtemp(prefix="trees-", dir=tmp))
    empty = tempfile.mkdtemp(prefix="empty-", dir=tmp)
    empty = (os.path.join(empty, "proc"), os.path.join(empty, "sys"))
    rounds = {"gpu": [], "none": []}

    def once(name, roots):
        with utilization_roots(*roots):
            r = sampler_round(SAMPLER_UTIL_MS, size["sampler_s"])
        rounds[name].append(r)
        return r[0] / r[2]

    measured = pairs.measure_pairs(lambda: once("gpu", full), lambda: once("none", empty),
                                   size["sampler_pairs"])
    return measured, rounds


def run(ctx, size):
    add = ctx.report.add
    reads = size["reads"]
    try:
        read_us = execution_devices_read_us(ctx, reads)
    except RuntimeError as e:
        ctx.report.skip("adds", "AUTO's EXECUTION_DEVICES read", str(e).splitlines()[0])
    else:
        add("adds", "execution_devices_read_us",
            f"AUTO: one EXECUTION_DEVICES read, CPU time ({reads} reads 30 ms apart, median)",
            read_us, "us", peers={"per request while AUTO's CPU helper may run requests "
                                  "(before the submit and after the completion)": 2 * read_us})

    profile_us, ops, sum_ms = profile_read_us(ctx, size["profiles"])
    add("adds", "profile_read_us",
        f"reading one request's profile ({ops} operations, real_time summed), CPU time "
        f"({size['profiles']} requests, median)", profile_us, "us",
        peers={"its sum of real_time, ms": sum_ms})

    measured = perf_count_latency(ctx, size)
    add("adds", "perf_count_median_ms",
        f"median latency with PERF_COUNT=YES, back to back, nireq 1 ({size['requests']} "
        f"requests a round)", float(np.median(measured["a"])), "ms",
        peers={"PERF_COUNT=NO": float(np.median(measured["b"]))})
    ctx.report.add_comparison("adds", "perf_count_ratio",
                              "median latency PERF_COUNT=YES / NO, median of pairs",
                              measured, None)

    measured, rounds = sampler_on_fake_trees(ctx.tmp, size)
    gpu, none = rounds["gpu"], rounds["none"]
    per_tick = [c / t * 1e6 for c, _w, t, _s in gpu]
    share = [c / w * 100 for c, w, _t, _s in gpu]
    bare = [c / t * 1e6 for c, _w, t, _s in none]
    bare_share = [c / w * 100 for c, w, _t, _s in none]
    sources = gpu[0][3]
    ctx.report.detail("adds", sampler_sources_fake_trees=sources, sampler_rounds=rounds,
                      execution_devices_reads=reads, profiles=size["profiles"])
    add("adds", "sampler_fake_gpu_tick_us",
        f"sampler every {SAMPLER_UTIL_MS:g} ms with GPU and NPU readers on fake trees "
        f"({len(sources)} sources), CPU time per tick", float(np.median(per_tick)), "us",
        peers={"CPU readers alone": float(np.median(bare))},
        note="fake trees in the page cache: the kernel's own cost of real fdinfo and sysfs "
             "reads is not in it")
    add("adds", "sampler_fake_gpu_core_pct",
        f"sampler every {SAMPLER_UTIL_MS:g} ms with GPU and NPU readers on fake trees, share "
        f"of one core (median of {len(share)} rounds)", float(np.median(share)), "%",
        peers={"CPU readers alone": float(np.median(bare_share))},
        note="fake trees in the page cache: the kernel's own cost of real fdinfo and sysfs "
             "reads is not in it")
    ctx.report.add_comparison("adds", "sampler_fake_gpu_ratio",
                              "sampler CPU time per tick, with GPU and NPU readers on fake "
                              "trees / CPU readers alone, median of pairs", measured, None)
