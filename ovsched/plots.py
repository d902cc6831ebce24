"""Final figures, drawn from a Run (live or loaded from disk). Each returns the Figure."""

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

# Past this many requests the timeline draws a sample of the lines, evenly spread, and
# says so: 100,000 lines are slow to draw and unreadable in one picture.
TIMELINE_MAX_LINES = 5000
BATCH_COLOURS = ("#1f77b4", "#ff7f0e")
PENDING_COLOUR = "#d62728"


def describe_run(summary):
    """'device, hint, model' for titles and legends."""
    settings = summary.get("settings", {})
    properties = summary.get("properties", {})
    model = summary.get("model", {})
    name = model.get("name") or settings.get("model", "?")
    if model.get("standin"):
        name += " (stand-in, random weights)"
    hint = properties.get("PERFORMANCE_HINT", "no hint")
    return f"{settings.get('device', '?')}, {hint}, {name}"


def _footer(fig, summary):
    s = summary.get("stats", {})
    lat = s.get("latency_ms", {})
    parts = []
    if lat.get("median") is not None:
        parts.append(f"latency median {lat['median']:.1f} ms, p99 {lat['p99']:.1f} ms")
    if s.get("throughput_fps"):
        parts.append(f"{s['throughput_fps']:.1f} inferences/s")
    settings = summary.get("settings", {})
    parts.append(f"{s.get('count', 0)} of {settings.get('niter', '?')} requests, "
                 f"every {settings.get('interval', '?')} ms, queue {summary.get('nireq', '?')}")
    if summary.get("interrupted"):
        parts.append(f"stopped early at request {summary.get('stopped_at_request')}")
    fig.text(0.01, 0.01, "   ".join(parts), fontsize=8, color="0.3")


def plot_timeline(run):
    """Submit row above, completion row below, one line per request, batches in turn colours."""
    summary = run.summary
    fig = Figure(figsize=(16, 3.8), layout="constrained")
    ax = fig.add_subplot()
    sub, comp, batch = run["submitted_s"], run["completed_s"], run["batch"]
    done = run.done
    shown = np.arange(len(run))
    if len(run) > TIMELINE_MAX_LINES:
        shown = np.unique(np.linspace(0, len(run) - 1, TIMELINE_MAX_LINES).astype(int))
    d = shown[done[shown]]
    segments = np.stack([np.column_stack([sub[d], np.ones(d.size)]),
                         np.column_stack([comp[d], np.zeros(d.size)])], axis=1)
    colours = [BATCH_COLOURS[b % 2] if b >= 0 else "#17becf" for b in batch[d]]
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8))
    ax.scatter(sub[d], np.ones(d.size), marker="^", s=18, facecolors="none",
               edgecolors="#2ca02c", linewidths=0.8, label="submitted")
    ax.scatter(comp[d], np.zeros(d.size), marker="^", s=18, facecolors="none",
               edgecolors="#2ca02c", linewidths=0.8, label="completed")
    pending = shown[~done[shown]]
    if pending.size:
        ax.scatter(sub[pending], np.ones(pending.size), marker="v", s=30, color=PENDING_COLOUR,
                   label="never completed")
    batches = summary.get("batches") or {}
    if batches.get("count"):
        for b in np.unique(batch[batch >= 0]):
            members = batch == b
            t = np.nanmax(comp[members])
            if members.sum() > 1 and len(run) <= TIMELINE_MAX_LINES:
                ax.annotate(str(int(members.sum())), (t, 0), xytext=(0, -11),
                            textcoords="offset points", ha="center", fontsize=7, color="0.25")
    ax.set_yticks([0, 1], ["completed", "submitted"])
    ax.set_ylim(-0.35, 1.25)
    end = np.nanmax(np.concatenate([sub, comp])) if len(run) else 1.0
    ax.set_xlim(-0.01 * end - 0.01, end * 1.02 + 0.01)
    ax.set_xlabel("time since start (s)")
    ax.grid(axis="x", alpha=0.3)
    title = f"Batching timeline: {describe_run(summary)}"
    if batches.get("text"):
        title += f"\n{batches['text']}"
        if batches.get("batch_size"):
            title += f" (batch size {batches['batch_size']}"
            if batches.get("timeout_ms") is not None:
                title += f", AUTO_BATCH_TIMEOUT {batches['timeout_ms']} ms"
            title += ")"
    elif batches.get("note"):
        title += f"\n{batches['note']}"
    if len(shown) < len(run):
        title += f"  [{len(shown)} of {len(run)} requests drawn]"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7, ncols=3)
    _footer(fig, summary)
    return fig


def plot_latency(run):
    """Latency of each request against its submission index, device switches marked."""
    summary = run.summary
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot()
    lat = run["latency_ms"]
    ax.plot(run["request"], lat, lw=0.8, color="#1f77b4", label="latency")
    median = (summary.get("stats", {}).get("latency_ms") or {}).get("median")
    if median is not None:
        ax.axhline(median, color="0.4", lw=0.8, ls="--", label=f"median {median:.1f} ms")
    for switch in summary.get("device_switches") or []:
        ax.axvline(switch["request"], color="#d62728", lw=1.2)
        ax.annotate(f"{switch['from']} \u2192 {switch['to']}\nrequest {switch['request']}",
                    (switch["request"], 1), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", va="top", fontsize=8,
                    color="#d62728")
    interval = summary.get("settings", {}).get("interval", "?")
    ax.set_xlabel(f"request (in submission order, one every {interval} ms)")
    ax.set_ylabel("latency (ms)")
    ax.set_xlim(-0.5, max(len(run), 1) - 0.5)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.4)
    title = f"Inference latency: {describe_run(summary)}"
    note = summary.get("device_note")
    if note:
        title += f"\n{note}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    _footer(fig, summary)
    return fig


PLOTS = {"timeline": plot_timeline, "latency": plot_latency}
