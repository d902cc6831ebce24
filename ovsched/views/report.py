"""What a run says in the terminal: the status line while it runs, the table after."""

import sys
import time

from ..data.parts import Batches, Breakdown, Pacing
from ..derive import profiles
from ..derive.breakdown import line
from ..derive.findings_base import Finding
from ..errors import outlive_reader

TOP_FINDINGS = 3  # printed after the table; summary.json and `explain` keep them all
EXPLAIN = "python -m ovsched explain"  # the command hints name; `ovsched` sets its own


def print_table(summary, out, say=print):
    s = summary.stats
    lat, late = s.latency_ms, s.lateness_ms

    def f(v, unit=""):
        return "-" if v is None else f"{v:.2f}{unit}"

    say(f"\n{s.count} of {s.submitted} submitted requests completed in "
        f"{s.duration_s:.2f} s ({f(s.throughput_fps)} inferences/s)")
    say("latency ms   median {}  mean {}  min {}  max {}  p90 {}  p99 {}".format(
        *(f(getattr(lat, k)) for k in ("median", "mean", "min", "max", "p90", "p99"))))
    say(f"lateness ms  p50 {f(late.p50)}  p99 {f(late.p99)}  max {f(late.max)}   "
        f"compile {f(s.compile_s, ' s')}  first latency {f(s.first_latency_ms, ' ms')}")
    pacing = s.pacing_ms or Pacing()
    if pacing.p99 is not None:
        say(f"pacing ms   p50 {f(pacing.p50)}  p99 {f(pacing.p99)}  max "
            f"{f(pacing.max)}   (lateness minus the wait for a free queue slot)")
    for device, d in (s.per_device or {}).items():
        say(f"  on {device}: {d.count} requests, latency median "
            f"{f(d.latency_ms.median)} ms, p99 {f(d.latency_ms.p99)} ms")
    batches = summary.batches or Batches()
    if batches.count or batches.timeout or (batches.count is None and batches.text):
        say(f"batches: {batches.text}")
        for note in (batches.notes or [])[:3]:
            say(f"  {note}")
    if summary.device_note:
        say(summary.device_note)
    say_breakdown(summary, say)
    say(f"results: {out}")
    print_findings(summary.findings, out, say)


def print_findings(found, out, say=print, limit=TOP_FINDINGS):
    """The top findings, each with its evidence and a setting to try."""
    if found is None:
        return
    if not found:
        say(f"findings: none (every check passed or could not decide: {EXPLAIN} {out})")
        return
    shown = found[:limit] if limit else found
    more = (f" (top {len(shown)} of {len(found)}; all: {EXPLAIN} {out})"
            if len(found) > len(shown) else "")
    say(f"findings{more}:")
    for k, f in enumerate(shown, 1):
        lines = Finding.from_dict(f).lines()
        say(f"{k}. {lines[0]}")
        for text in lines[1:]:
            say(f"  {text}")


def say_breakdown(summary, say=print):
    """The p99 request's response time cut into its parts (see derive/breakdown.py)."""
    block = summary.breakdown or Breakdown()
    entry = next((e for e in block.requests or [] if e["rank"] == "p99"), None)
    if entry is None:
        return
    say(f"where the time went: {line(entry)}")
    for note in block.notes or []:
        say(f"  {note}")
    say(f"  {profiles.text(summary.profile, block.completed or 0)}")


class Progress:
    """One status line: rewritten in a terminal, printed every 10 s into a log.

    ``utilization``, when set, returns the sampler's newest values ({source: (time_s,
    value)}); the line then shows CPU and, where measured, GPU and NPU now."""

    utilization = None

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
            latest = f"  latest {runner.run.latency_ms_of(i):.1f} ms"
        line = f"submitted {n}/{runner.niter}  completed {done}  in flight {n - done}{latest}"
        if self.utilization is not None:
            from ..utilization.session import now_text
            now = now_text(self.utilization())
            if now:
                line += f"  {now}"
        return line

    def update(self, runner):
        now = time.perf_counter()
        if not self.enabled or now - self.last < self.every:
            return
        self.last = now
        text = "\r" + self.line(runner).ljust(78) if self.tty else self.line(runner) + "\n"

        def write():
            self.stream.write(text)
            self.stream.flush()
        # the reader went away: no more lines; the run goes on, its files are written
        self.enabled = outlive_reader(write)

    def finish(self, runner):
        if self.enabled and self.tty:
            self.stream.write("\r" + self.line(runner).ljust(78) + "\n")
            self.stream.flush()
