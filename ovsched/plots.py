"""Final figures, drawn from a Run (live or loaded from disk). Each ``plot_*`` returns the
Figure; the caller decides to save or show it. ``figure`` may be ``pyplot.figure`` to get a
figure that ``pyplot.show`` can open."""

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

# Past this many requests the timeline draws an evenly spread sample of the lines and says
# so on the figure: 100,000 lines are slow to draw and unreadable in one picture anyway.
TIMELINE_MAX_LINES = 5000
BATCH_COLOURS = ("#1f77b4", "#ff7f0e")
UNBATCHED_COLOUR = "#17becf"
PENDING_COLOUR = "#d62728"
SWITCH_COLOUR = "#d62728"
DUE_Y = 1.45
MARKER = dict(marker="^", s=18, facecolors="none", edgecolors="#2ca02c", linewidths=0.8)


def describe_run(summary):
    """'device, hint, model' for titles."""
    settings = summary.get("settings", {})
    properties = summary.get("properties", {})
    model = summary.get("model", {})
    name = model.get("name") or settings.get("model", "?")
    if model.get("standin"):
        name += " (stand-in, random weights)"
    hint = properties.get("PERFORMANCE_HINT", "no hint")
    return f"{settings.get('device', '?')}, {hint}, {name}"


def arrival_text(summary):
    """The run's arrival pattern; a run saved before patterns existed ran on a metronome."""
    if summary.get("arrival"):
        return summary["arrival"]
    interval = summary.get("settings", {}).get("interval")
    return f"fixed, every {interval:g} ms" if isinstance(interval, (int, float)) else "unknown"


def footer_text(summary):
    s = summary.get("stats", {})
    lat = s.get("latency_ms", {})
    parts = []
    if lat.get("median") is not None:
        parts.append(f"latency median {lat['median']:.1f} ms, p99 {lat['p99']:.1f} ms")
    if s.get("throughput_fps"):
        parts.append(f"{s['throughput_fps']:.1f} inferences/s")
    settings = summary.get("settings", {})
    parts.append(f"{s.get('count', 0)} of {settings.get('niter', '?')} requests, "
                 f"{arrival_text(summary)}, queue {summary.get('nireq', '?')}")
    if summary.get("interrupted"):
        parts.append(f"stopped early at request {summary.get('stopped_at_request')}")
    return "   ".join(parts)


def timeline_sample(n):
    """Indices of the requests the timeline draws."""
    if n <= TIMELINE_MAX_LINES:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, TIMELINE_MAX_LINES).astype(int))


def draw_timeline(ax, run, label_batches=True):
    """One timeline row pair on ``ax``: a line from submit (y=1) to completion (y=0)."""
    sub, comp, batch = run["submitted_s"], run["completed_s"], run["batch"]
    shown = timeline_sample(len(run))
    done = run.done[shown]
    d = shown[done]
    segments = np.stack([np.column_stack([sub[d], np.ones(d.size)]),
                         np.column_stack([comp[d], np.zeros(d.size)])], axis=1)
    colours = [BATCH_COLOURS[b % 2] if b >= 0 else UNBATCHED_COLOUR for b in batch[d]]
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8))
    ax.scatter(sub[d], np.ones(d.size), label="submitted / completed", **MARKER)
    ax.scatter(comp[d], np.zeros(d.size), **MARKER)
    # Back-pressure gets a row of its own: a grey line from when a request was due (top)
    # to when a free queue slot let it be submitted. On schedule, the lines are vertical.
    late = shown[run.waited_for_slot[shown]]
    if late.size:
        ax.add_collection(LineCollection(
            np.stack([np.column_stack([run["scheduled_s"][shown], np.full(shown.size, DUE_Y)]),
                      np.column_stack([sub[shown], np.ones(shown.size)])], axis=1),
            colors="0.6", linewidths=0.6, label="due \u2192 submitted (waited for a slot)"))
        ax.scatter(run["scheduled_s"][shown], np.full(shown.size, DUE_Y), marker="|", s=20,
                   color="0.5", linewidths=0.8)
    pending = shown[~done]
    if pending.size:
        ax.scatter(sub[pending], np.ones(pending.size), marker="v", s=30, color=PENDING_COLOUR,
                   label="never completed")
    if label_batches and len(run) <= TIMELINE_MAX_LINES:
        for b in np.unique(batch[batch >= 0]):
            members = batch == b
            if members.sum() > 1:
                ax.annotate(str(int(members.sum())), (np.nanmax(comp[members]), 0),
                            xytext=(0, -11), textcoords="offset points", ha="center",
                            fontsize=7, color="0.25")
    for switch in run.summary.get("device_switches") or []:
        ax.axvline(switch["time_s"], color=SWITCH_COLOUR, lw=1)
    if late.size:
        ax.set_yticks([0, 1, DUE_Y], ["completed", "submitted", "due"])
        ax.set_ylim(-0.35, DUE_Y + 0.3)
    else:
        ax.set_yticks([0, 1], ["completed", "submitted"])
        ax.set_ylim(-0.35, 1.3)
    times = np.concatenate([sub, comp])
    end = float(np.nanmax(times)) if np.isfinite(times).any() else 1.0
    ax.set_xlim(-0.01 * end - 0.01, end * 1.02 + 0.01)
    ax.grid(axis="x", alpha=0.3)
    return len(shown)


def batch_line(summary):
    batches = summary.get("batches") or {}
    if not batches.get("count"):
        return batches.get("note", "")
    text = batches["text"]
    if batches.get("batch_size"):
        text += f" (batch size {batches['batch_size']}"
        if batches.get("timeout_ms") is not None:
            text += f", AUTO_BATCH_TIMEOUT {batches['timeout_ms']} ms"
        text += ")"
    return text


def plot_timeline(run, figure=Figure):
    """Submit row above, completion row below, one line per request, batches in turn colours."""
    fig = figure(figsize=(16, 3.8), layout="constrained")
    ax = fig.add_subplot()
    drawn = draw_timeline(ax, run)
    ax.set_xlabel("time since start (s)")
    title = f"Batching timeline: {describe_run(run.summary)}; arrivals {arrival_text(run.summary)}"
    line = batch_line(run.summary)
    if line:
        title += f"\n{line}"
    if drawn < len(run):
        title += f"  [{drawn} of {len(run)} requests drawn, evenly spread]"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7, ncols=3)
    fig.supxlabel(footer_text(run.summary), x=0.01, ha="left", fontsize=8, color="0.3")
    return fig


def draw_latency(ax, run, label="latency", colour="#1f77b4", marks=True):
    """Latency against submission index on ``ax``; device switches as vertical lines."""
    ax.plot(run["request"], run["latency_ms"], lw=0.8, color=colour, label=label)
    if not marks:
        return
    median = (run.summary.get("stats", {}).get("latency_ms") or {}).get("median")
    if median is not None:
        ax.axhline(median, color="0.4", lw=0.8, ls="--", label=f"median {median:.1f} ms")
    for switch in run.summary.get("device_switches") or []:
        ax.axvline(switch["request"], color=SWITCH_COLOUR, lw=1.2)
        ax.annotate(f"{switch['from']} \u2192 {switch['to']}\nrequest {switch['request']}",
                    (switch["request"], 1), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", va="top", fontsize=8,
                    color=SWITCH_COLOUR)


def plot_latency(run, figure=Figure):
    """Latency of each request against its submission index, device switches marked."""
    fig = figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot()
    draw_latency(ax, run)
    ax.set_xlabel(f"request (in submission order; arrivals {arrival_text(run.summary)})")
    ax.set_ylabel("latency (ms)")
    ax.set_xlim(-0.5, max(len(run), 1) - 0.5)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.4)
    title = f"Inference latency: {describe_run(run.summary)}; arrivals {arrival_text(run.summary)}"
    if run.summary.get("device_note"):
        title += f"\n{run.summary['device_note']}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.supxlabel(footer_text(run.summary), x=0.01, ha="left", fontsize=8, color="0.3")
    return fig


def run_labels(runs):
    """A legend label per run: the settings and properties in which the runs differ."""
    flat = []
    for run in runs:
        s = run.summary
        items = {**{k: v for k, v in s.get("settings", {}).items() if k not in ("out",)},
                 **s.get("properties", {})}
        flat.append(items)
    keys = sorted({k for items in flat for k in items})
    differing = [k for k in keys if len({str(items.get(k)) for items in flat}) > 1]
    labels = []
    for k, items in enumerate(flat):
        parts = [f"{key}={items.get(key, 'default')}" for key in differing]
        labels.append(", ".join(parts) if parts else f"run {k + 1}")
    return labels


def settings_key(summary):
    """What makes two runs the same experiment: every setting but the folder, and the
    properties."""
    settings = {k: v for k, v in summary.get("settings", {}).items() if k != "out"}
    return repr(sorted({**settings, **summary.get("properties", {})}.items()))


def same_settings(runs):
    """Indices of the runs grouped by identical settings, in order of first appearance."""
    groups = {}
    for k, run in enumerate(runs):
        groups.setdefault(settings_key(run.summary), []).append(k)
    return list(groups.values())


def draw_band(ax, runs, label, colour):
    """Repeats of one experiment: the median latency of each request, and its range."""
    n = max(len(run) for run in runs)
    latency = np.full((len(runs), n), np.nan)
    for k, run in enumerate(runs):
        latency[k, :len(run)] = run["latency_ms"]
    seen = ~np.all(np.isnan(latency), axis=0)
    x = np.arange(n)[seen]
    latency = latency[:, seen]
    ax.fill_between(x, np.nanmin(latency, axis=0), np.nanmax(latency, axis=0), color=colour,
                    alpha=0.25, lw=0, label=f"{label}: range")
    ax.plot(x, np.nanmedian(latency, axis=0), lw=0.9, color=colour, label=f"{label}: median")


def plot_compare(runs, names=None, figure=Figure):
    """Several runs in one picture: latency curves overlaid, or timelines stacked."""
    labels = run_labels(runs)
    if names:
        labels = [f"{n}: {lab}" for n, lab in zip(names, labels)]
    kinds = {run.summary.get("kind") for run in runs}
    if kinds == {"timeline"}:
        fig = figure(figsize=(16, 1.2 + 2.2 * len(runs)), layout="constrained")
        axes = fig.subplots(len(runs), 1, sharex=True, squeeze=False)[:, 0]
        for ax, run, label in zip(axes, runs, labels):
            draw_timeline(ax, run)
            line = batch_line(run.summary)
            ax.set_title(f"{label}   ({line})" if line else label, fontsize=9, loc="left")
        ends = []
        for run in runs:
            times = np.concatenate([run["submitted_s"], run["completed_s"]])
            ends.append(float(np.nanmax(times)) if np.isfinite(times).any() else 1.0)
        axes[-1].set_xlim(-0.01 * max(ends) - 0.01, max(ends) * 1.02 + 0.01)
        axes[-1].set_xlabel("time since start (s)")
        fig.suptitle("Batching timelines compared", fontsize=11)
        return fig
    fig = figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot()
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    # Runs that share every setting are repeats: one band shows what is noise between them.
    groups = same_settings(runs)
    group_labels = run_labels([runs[g[0]] for g in groups])
    for k, (group, label) in enumerate(zip(groups, group_labels)):
        colour = colours[k % len(colours)]
        if names:
            label = f"{', '.join(names[i] for i in group)}: {label}"
        if len(group) > 1:
            draw_band(ax, [runs[i] for i in group], f"{label} ({len(group)} runs)", colour)
            continue
        run = runs[group[0]]
        median = (run.summary.get("stats", {}).get("latency_ms") or {}).get("median")
        text = f"{label} (median {median:.1f} ms)" if median is not None else label
        draw_latency(ax, run, label=text, colour=colour, marks=False)
    ax.set_xlabel("request (in submission order)")
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.4)
    ax.legend(fontsize=8)
    ax.set_title("Inference latency compared", fontsize=11)
    return fig


PLOTS = {"timeline": plot_timeline, "latency": plot_latency}
