"""Ground truth for the batch labels: real ``BATCH:CPU(N)`` runs of a model whose output names
the requests each one ran with, held against the labels the replay gives.

The model returns ``x + sum(x over the batch axis)``. Request i sends a one-hot vector with
a 1 at position i, so ``output - input`` has a 1 at every member of the inference it ran in:
N members for a batch, only itself for a request run alone after the timeout. A second model
puts an input without a batch axis first (``scale``, shape [2]).

Not a test module: tests/test_ground_truth.py runs a few cases in CI, and this file run by
hand measures many (the table of labels, ``unknown`` shares and wrong labels)::

    python tests/ground_truth.py --rounds=2 --busy=0,2 --before=5c60316

``--before=REV`` labels the same runs also with the labeller of that git revision.
"""

import argparse
import contextlib
import importlib.util
import inspect
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
try:
    import openvino.opset13 as ops
except ImportError:  # OpenVINO 2024.x only exposes opsets under runtime
    import openvino.runtime.opset13 as ops

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ovsched.derive import batching, labels, profiles  # noqa: E402
from ovsched.run.runner import Runner  # noqa: E402
from ovsched.run.wakeprobe import WakeProbe  # noqa: E402


def truth_model(width, multi_input=False):
    """``x + sum over axis 0 of x`` for x of shape [1, width]; with ``multi_input`` a first
    input ``scale`` [2] (no batch axis) whose sum is added too (send zeros)."""
    x = ops.parameter([1, width], np.float32, name="input")
    y = ops.add(x, ops.reduce_sum(x, np.array([0]), True))
    params = [x]
    if multi_input:
        scale = ops.parameter([2], np.float32, name="scale")
        y = ops.add(y, ops.reduce_sum(scale, np.array([0]), False))
        params = [scale, x]
    return ov.Model([y], params, "truth")


class _Queue:
    """The runner's AsyncInferQueue, writing request i's one-hot input into its slot just
    before ``start_async`` (after the submit stamp, as the runner's own copy is)."""

    def __init__(self, queue, port, width):
        self._queue = queue
        self._port = port
        self._width = width
        self._slot = None

    def __getattr__(self, name):
        return getattr(self._queue, name)

    def __iter__(self):
        return iter(self._queue)

    def __getitem__(self, k):
        return self._queue[k]

    def get_idle_request_id(self):
        self._slot = self._queue.get_idle_request_id()
        return self._slot

    def start_async(self, inputs, i):
        data = self._queue[self._slot].get_input_tensor(self._port).data
        data[...] = 0
        data[0, i] = 1.0
        self._queue.start_async(inputs, i)


class TruthRunner(Runner):
    """The project's runner; its callback also reads who ran together (and the profile)."""

    def __init__(self, compiled, nireq, due_s, *, port, profile=False):
        super().__init__(compiled, nireq, due_s)
        n = len(due_s)
        self.members = [None] * n
        self.profile_key = [None] * n
        self.compute_ms = np.full(n, np.nan)
        self.profile_read_s = np.full(n, np.nan)
        self._profile = profile
        self._port = port
        self.queue = _Queue(self.queue, port, n)

    def _completed(self, request, i):
        super()._completed(request, i)
        out = np.asarray(request.get_output_tensor(0).data)[0]
        got = np.rint(out).astype(int)
        got[i] -= 1
        self.members[i] = frozenset(np.flatnonzero(got).tolist())
        if self._profile:
            info = request.profiling_info
            self.profile_read_s[i] = time.perf_counter() - self.t0
            self.profile_key[i] = tuple((p.node_name, p.real_time.total_seconds())
                                        for p in info)
            self.compute_ms[i] = sum(p.real_time.total_seconds() for p in info) * 1e3


@dataclass(frozen=True)
class Case:
    """One real run's settings."""

    name: str
    batch: int = 4
    nireq: int = 8
    timeout_ms: int = 10
    arrival: str = "poisson"  # fixed | poisson | burst
    interval_ms: float = 3.0
    niter: int = 40
    multi_input: bool = False
    burst: int = 4  # requests per burst (arrival=burst), interval_ms between bursts


def due_times_s(case, seed):
    rng = np.random.default_rng(seed)
    n, gap = case.niter, case.interval_ms / 1e3
    if case.arrival == "fixed":
        return np.arange(n) * gap
    if case.arrival == "poisson":
        return np.concatenate([[0.0], np.cumsum(rng.exponential(gap, n - 1))])
    if case.arrival == "burst":
        return (np.arange(n) // case.burst) * gap
    raise ValueError(f"arrival {case.arrival!r}")


CASES = [
    Case("poisson 3 ms, timeout 10", timeout_ms=10, interval_ms=3),
    Case("poisson 5 ms, timeout 20", timeout_ms=20, interval_ms=5),
    Case("poisson 2 ms, timeout 15", timeout_ms=15, interval_ms=2),
    Case("fixed 4 ms, timeout 10", arrival="fixed", timeout_ms=10, interval_ms=4),
    Case("fixed 1 ms, timeout 50", arrival="fixed", timeout_ms=50, interval_ms=1),
    Case("burst 4 every 30 ms, timeout 50", arrival="burst", timeout_ms=50, interval_ms=30,
         niter=24),
    Case("burst 3 every 20 ms, timeout 5", arrival="burst", burst=3, timeout_ms=5,
         interval_ms=20, niter=24),
    Case("starved nireq 6, timeout 10", nireq=6, timeout_ms=10, interval_ms=3),
    Case("long timeout 1000, flood", arrival="fixed", timeout_ms=1000, interval_ms=0,
         niter=32),
    Case("multi-input, poisson 3 ms", multi_input=True, timeout_ms=10, interval_ms=3),
    Case("batch 2, poisson 4 ms, timeout 10", batch=2, nireq=4, timeout_ms=10,
         interval_ms=4),
]


def compile_case(case, profile=False):
    core = ov.Core()
    model = truth_model(case.niter, case.multi_input)
    # as text, as the tool sends it: OpenVINO 2024.6 refuses a Python int for this property
    config = {"AUTO_BATCH_TIMEOUT": str(case.timeout_ms)}
    if profile:
        config["PERF_COUNT"] = "YES"
    compiled = core.compile_model(model, f"BATCH:CPU({case.batch})", config)
    return compiled


def run_case(case, seed=0, profile=True):
    """Run ``case`` for real; returns the records, the truth and what batching_info read."""
    compiled = compile_case(case, profile)
    info, warning = batching.batching_info(compiled, f"BATCH:CPU({case.batch})", {})
    port = 1 if case.multi_input else 0
    runner = TruthRunner(compiled, case.nireq, due_times_s(case, seed), port=port,
                         profile=profile)
    probe = WakeProbe().start()
    runner.start()
    while not runner.wait(0.1):
        pass
    probe.stop()
    n = runner.n_submitted
    c = runner.run.columns
    keys = {}
    key = np.array([-1 if k is None else keys.setdefault(k, len(keys))
                    for k in runner.profile_key[:n]], dtype=int)
    # as the product does (ovsched/derive/profiles.py): a profile counts only where nothing
    # outside the request's worker (id) or the request itself (compute) ran before it was read
    compute_ms, profile_id, _ = profiles.attribute(
        {"profile_read_s": runner.profile_read_s[:n], "profile_sum_ms": runner.compute_ms[:n],
         "profile_key": key, "submitted_s": c["submitted_s"][:n],
         "completed_s": c["completed_s"][:n], "infer_ms": c["infer_ms"][:n],
         "slot": c["slot"][:n]}, case.batch)
    return {"case": case, "seed": seed, "info": info, "warning": warning,
            "slot": c["slot"][:n].copy(), "submitted_s": c["submitted_s"][:n].copy(),
            "completed_s": c["completed_s"][:n].copy(), "infer_ms": c["infer_ms"][:n].copy(),
            "scheduled_s": c["scheduled_s"][:n].copy(),
            "queue_wait_ms": c["queue_wait_ms"][:n].copy(), "priority": runner.priority,
            "wake": probe.summary(runner.t0),
            "queue_created_s": (runner.queue_created_s, runner.queue_created_end_s),
            "members": runner.members[:n], "profile_id": profile_id,
            "compute_ms": compute_ms, "errors": list(runner.errors)}


def truth_of(record):
    """Per request: ("batched", members) or ("timeout", {itself}) as OpenVINO computed it;
    ("?", members) for anything else (never expected)."""
    batch = record["case"].batch
    out = []
    for i, m in enumerate(record["members"]):
        if m is None:
            out.append(None)
        elif len(m) == batch and i in m:
            out.append((labels.BATCHED, m))
        elif m == {i}:
            out.append((labels.TIMEOUT, m))
        else:
            out.append(("?", m))
    return out


def label_with(module, record, **extra):
    """The labels ``module`` (ovsched.derive.labels of some revision) gives the record."""
    case = record["case"]
    if "infer_ms" in inspect.signature(module.label_batches).parameters:
        return module.label_batches(record["slot"], record["submitted_s"],
                                    record["completed_s"], infer_ms=record["infer_ms"],
                                    batch_size=case.batch, timeout_ms=case.timeout_ms,
                                    timer_start_s=record["queue_created_s"],
                                    nireq=case.nireq, **extra)
    return module.label_batches(record["slot"], record["submitted_s"], record["completed_s"],
                                batch_size=case.batch, timeout_ms=case.timeout_ms,
                                timer_start_s=record["queue_created_s"], nireq=case.nireq)


def compare(found, record):
    """(wrong, unknown, decided): requests labelled against the truth, labelled unknown, and
    labelled right."""
    truth = truth_of(record)
    wrong, unknown, right = [], 0, 0
    members_of = {}
    for i, ran in enumerate(found.ran):
        if ran == labels.BATCHED:
            members_of.setdefault(int(found.batch[i]), set()).add(i)
    for i, ran in enumerate(found.ran):
        t = truth[i]
        if t is None or ran == "":
            continue
        if ran == labels.UNKNOWN:
            unknown += 1
            continue
        if ran == labels.BATCHED:
            ok = t[0] == labels.BATCHED and members_of[int(found.batch[i])] == set(t[1])
        elif ran == labels.TIMEOUT:
            ok = t[0] == labels.TIMEOUT
        else:
            ok = False
        if ok:
            right += 1
        else:
            wrong.append((i, ran, t))
    return wrong, unknown, right


@contextlib.contextmanager
def busy(n):
    """``n`` processes spinning at normal priority beside the run."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(n)]
    try:
        if procs:
            time.sleep(0.3)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def load_labeller(rev):
    """ovsched.derive.labels as it was at git revision ``rev``."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:ovsched/derive/labels.py"],
                          capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / f"labels_{rev}.py"
    path.write_text(text.replace("from .device_names", "from ovsched.derive.device_names"))
    spec = importlib.util.spec_from_file_location(f"labels_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="runs of each case and load")
    ap.add_argument("--busy", default="0,2", help="spinning processes beside, e.g. 0,2")
    ap.add_argument("--before", default=None, help="git revision of the labeller to compare")
    ap.add_argument("--cases", default="", help="substring filter on case names")
    args = ap.parse_args(argv)
    before = load_labeller(args.before) if args.before else None
    rows = []
    for load in [int(b) for b in args.busy.split(",")]:
        for case in CASES:
            if args.cases and args.cases not in case.name:
                continue
            tot = {"n": 0, "batched": 0, "timeout": 0, "unknown": 0, "wrong": 0,
                   "unknown_before": 0, "wrong_before": 0, "allowance": [], "median": [], "wide": 0}
            for r in range(args.rounds):
                with busy(load):
                    record = run_case(case, seed=r)
                found = label_with(labels, record, profile_id=record["profile_id"],
                                   compute_ms=record["compute_ms"],
                                   wake_late_ms=record["wake"])
                wrong, unknown, _ = compare(found, record)
                n = int(np.sum(~np.isnan(record["completed_s"])))
                tot["n"] += n
                tot["unknown"] += unknown
                tot["wrong"] += len(wrong)
                tot["batched"] += sum(t is not None and t[0] == labels.BATCHED
                                      for t in truth_of(record))
                tot["timeout"] += sum(t is not None and t[0] == labels.TIMEOUT
                                      for t in truth_of(record))
                tot["allowance"].append(found.allowance_ms)
                tot["median"].append(found.allowance_median_ms)
                tot["wide"] += len(found.wide)
                for w in wrong:
                    print(f"WRONG {case.name} busy={load} seed={r}: {w}", file=sys.stderr)
                if before is not None:
                    old = label_with(before, record)
                    w0, u0, _ = compare(old, record)
                    tot["unknown_before"] += u0
                    tot["wrong_before"] += len(w0)
            rows.append((case.name, load, tot))
            print_row(rows[-1], before is not None, flush=True)
    return 0


def print_row(row, with_before, flush=False):
    name, load, t = row
    n = max(t["n"], 1)
    a = np.asarray(t["allowance"], dtype=float)
    text = (f"| {name} | {load} | {t['n']} | {t['batched']}/{t['timeout']} | "
            + (f"{100 * t['unknown_before'] / n:.0f} % | {t['wrong_before']} | "
               if with_before else "")
            + f"{100 * t['unknown'] / n:.0f} % | {t['wrong']} | "
            f"{np.nanmin(a):.1f}-{np.nanmax(a):.1f} | "
            f"{np.nanmedian(np.asarray(t['median'], dtype=float)):.1f} | {t['wide']} |")
    print(text, flush=flush)


if __name__ == "__main__":
    sys.exit(main())

