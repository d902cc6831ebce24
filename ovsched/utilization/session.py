"""The sampler over one run: started before the model is read (so reading and compiling
show), moved to the run's clock when the first request is due, stopped after the last
completion; and what the run keeps of it (the summary block, the status line's text)."""

from .data import summarize
from .sampler import Sampler

OFF_REASON = "not sampled: util_ms=0 turns the sampler off"


def start_sampler(util_ms, say):
    """A started Sampler, or None when ``util_ms`` is 0. A reader that fails later is said
    through ``say`` as a warning; the run goes on."""
    if not util_ms:
        return None
    return Sampler(util_ms, on_warning=lambda text: say(f"warning: {text}")).start()


def stop_sampler(sampler, say=None):
    """Stop ``sampler`` (None and a stopped one are fine) and say, once, which sources could
    not be measured and why."""
    if sampler is None or sampler.stopped:
        return
    sampler.stop()
    if say is not None and sampler.unavailable:
        say("utilization not measured: " + "; ".join(
            f"{source}: {why}" for source, why in sorted(sampler.unavailable.items())))


def summary_block(sampler, util_ms):
    """``summary.json``'s ``utilization``: {period_ms, sources: {source: {mean, p50, p95,
    max}} over the samples that end after the first request was due, unavailable: {source:
    reason}, notes: {source: what it measures}, warnings: [...]}."""
    if sampler is None:
        return {"period_ms": 0, "sources": {}, "unavailable": {"all": OFF_REASON},
                "notes": {}, "warnings": []}
    samples = sampler.samples()
    block = {"period_ms": util_ms, "sources": summarize(samples, start_s=0.0),
             "unavailable": dict(sampler.unavailable), "notes": dict(sampler.notes),
             "warnings": list(sampler.warnings)}
    if not block["sources"] and samples["time_s"]:
        block["note"] = ("no sample ended after the first request was due (the run was "
                         "shorter than util_ms); utilization.csv has the earlier ones")
    return block


def now_text(latest):
    """The status line's part: ``cpu 43%  gpu.compute 80%  npu 12%`` from {source: (time_s,
    value)}; the busiest GPU engine class stands for the GPU."""
    parts = []
    if "cpu" in latest:
        parts.append(f"cpu {latest['cpu'][1]:.0f}%")
    gpu = [(v, s) for s, (_, v) in latest.items() if s.startswith("gpu.")]
    if gpu:
        value, source = max(gpu)
        parts.append(f"{source} {value:.0f}%")
    parts += [f"{s} {v:.0f}%" for s, (_, v) in sorted(latest.items()) if s.startswith("npu")]
    return "  ".join(parts)
