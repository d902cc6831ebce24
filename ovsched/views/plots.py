"""Final figures, drawn from a Run (live or loaded from disk). Each ``plot_*`` returns the
Figure; the caller decides to save or show it. ``figure`` may be ``pyplot.figure`` to get a
figure that ``pyplot.show`` can open."""

import textwrap

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..data.parts import Batches, Distribution, ModelInfo, Stats
from ..data.runfile import to_json
from ..derive import switch

from . import strip
from .machines import machines_text

# Past this many requests the timeline draws an evenly spread sample of the lines and says
# so on the figure: 100,000 lines are slow to draw and unreadable in one picture anyway.
TIMELINE_MAX_LINES = 5000
BATCH_COLOURS = ("#1f77b4", "#ff7f0e")
UNBATCHED_COLOUR = "#17becf"
TIMEOUT_COLOUR = "#9467bd"
UNKNOWN_COLOUR = "0.55"
SWITCH_SPAN_COLOUR = "#d62728"
# How each kind of request is drawn on the timeline: colour (None: its batch's), line style,
# legend text. "" is a saved run without labels: no claim, the original's cyan.
RAN_STYLE = {
    "batched": (None, "solid", "batched (one colour per batch, alternating)"),
    "timeout": (TIMEOUT_COLOUR, (0, (3, 2)), "ran alone after the timeout"),
    "single": (UNBATCHED_COLOUR, "solid", "not batched"),
    "unknown": (UNKNOWN_COLOUR, (0, (1, 1.5)), "unknown (see summary notes)"),
    "": (UNBATCHED_COLOUR, "solid", None),
}
PENDING_COLOUR = "#d62728"
SWITCH_COLOUR = "#d62728"
DUE_Y = 1.45
MODEL_BRIEF_CHARS = 48  # of input shapes in a title; a many-input model is cut with "..."
MARKER = dict(marker="^", s=18, facecolors="none", edgecolors="#2ca02c", linewidths=0.8)


def describe_run(summary):
    """'device, hint, model file [format, input shapes]' for titles."""
    model = summary.model or ModelInfo()
    path = str(summary.setting("model", ""))
    name = path.replace("\\", "/").rsplit("/", 1)[-1] or model.name or "?"
    if model.standin:
        name += " (stand-in, random weights)"
    hint = (summary.properties or {}).get("PERFORMANCE_HINT", "no hint")
    return f"{summary.setting('device', '?')}, {hint}, {name}{model_brief(model)}"


def model_brief(model):
    """' [ONNX, x[1,3,32,32]]': the format and input shapes of a summary's model, if known."""
    shapes = model.shapes or {}
    text = ", ".join(f"{n}[{','.join(str(d) for d in dims)}]" for n, dims in shapes.items())
    if len(text) > MODEL_BRIEF_CHARS:
        text = text[:MODEL_BRIEF_CHARS - 3] + "..."
    parts = [p for p in (model.format, text) if p]
    return f" [{', '.join(parts)}]" if parts else ""


def arrival_text(summary):
    """The run's arrival pattern ("unknown" if it did not say)."""
    return summary.arrival or "unknown"


def median_ms(summary):
    """The run's median latency, or None."""
    stats = summary.stats
    return stats.latency_ms.median if stats and stats.latency_ms else None


def footer_text(summary):
    s = summary.stats or Stats()
    lat = s.latency_ms or Distribution()
    parts = []
    if lat.median is not None:
        parts.append(f"latency median {lat.median:.1f} ms, p99 {lat.p99:.1f} ms")
    if s.throughput_fps:
        parts.append(f"{s.throughput_fps:.1f} inferences/s")
    parts.append(f"{s.count or 0} of {summary.setting('niter', '?')} requests, "
                 f"{arrival_text(summary)}, queue "
                 f"{'?' if summary.nireq is None else summary.nireq}")
    if summary.interrupted:
        parts.append(f"stopped early at request {summary.stopped_at_request}")
    text = "   ".join(parts)
    if summary.lacks:  # a line of its own: the list is long
        text += f"\nsaved by an earlier version, without {', '.join(summary.lacks)}"
    return text


def timeline_sample(n):
    """Indices of the requests the timeline draws."""
    if n <= TIMELINE_MAX_LINES:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, TIMELINE_MAX_LINES).astype(int))


def draw_switch_window(ax, summary):
    """Shade AUTO's switch window on a time axis."""
    w = summary.device_switch_window
    if w:
        requests = "?" if w.requests is None else w.requests
        ax.axvspan(w.start_s, w.end_s, color=SWITCH_SPAN_COLOUR, alpha=0.12, lw=0,
                   label=f"switching {w.from_} \u2192 {w.to}: {requests} "
                         f"requests {switch.DURING}, device unknown")


def draw_timeline(ax, run, label_batches=True):
    """One timeline row pair on ``ax``: a line from submit (y=1) to completion (y=0),
    styled by how the request ran (RAN_STYLE); returns the number of requests drawn."""
    sub, comp, batch = run["submitted_s"], run["completed_s"], run["batch"]
    ran = np.asarray(run["ran"], dtype=object)
    shown = timeline_sample(len(run))
    done = run.done[shown]
    d = shown[done]
    segments = np.stack([np.column_stack([sub[d], np.ones(d.size)]),
                         np.column_stack([comp[d], np.zeros(d.size)])], axis=1)
    styles = [RAN_STYLE.get(k, RAN_STYLE["unknown"]) for k in ran[d]]
    colours = [st[0] or BATCH_COLOURS[b % 2] for st, b in zip(styles, batch[d])]
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8,
                                     linestyles=[st[1] for st in styles]))
    for kind in dict.fromkeys(ran[d].tolist()):
        colour, style, text = RAN_STYLE.get(kind, RAN_STYLE["unknown"])
        if text:
            ax.add_line(Line2D([], [], color=colour or BATCH_COLOURS[0], ls=style, lw=1.2,
                               label=text))
    draw_switch_window(ax, run.summary)
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
        real = (batch >= 0) & (ran == "batched")
        for b in np.unique(batch[real]):
            members = real & (batch == b)
            ax.annotate(str(int(members.sum())), (np.nanmax(comp[members]), 0),
                        xytext=(0, -11), textcoords="offset points", ha="center",
                        fontsize=7, color="0.25")
    if not run.summary.device_switch_window:
        for found in run.summary.device_switches or []:
            ax.axvline(found.time_s, color=SWITCH_COLOUR, lw=1)
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


def finding_line(summary, width=200):
    """The top finding for a figure's title area: "finding [warn]: <title> (+N more)" and
    "try <fix>", wrapped at ``width`` characters ("" when the run has none, or was saved
    before findings were kept)."""
    found = summary.findings or []
    if not found:
        return ""
    top = found[0]
    more = f" (+{len(found) - 1} more: ovsched explain)" if len(found) > 1 else ""
    lines = textwrap.wrap(f"finding [{top['severity']}]: {top['title']}{more}", width)
    lines += textwrap.wrap(f"try {top['fix']}", width)
    return "\n".join(lines)


def batch_line(summary):
    batches = summary.batches or Batches()
    if not batches.count and not batches.timeout:
        if batches.count is None and batches.text:
            return batches.text
        return batches.note or ""
    text = batches.text
    if batches.batch_size:
        text += f" (batch size {batches.batch_size}"
        if batches.timeout_ms is not None:
            text += f", AUTO_BATCH_TIMEOUT {batches.timeout_ms} ms"
        text += ")"
    return text


def plot_timeline(run, figure=Figure):
    """Submit row above, completion row below, one line per request, batches in turn colours;
    the utilization strip below when the run has samples."""
    with_strip = strip.has_samples(run)
    fig = figure(figsize=(16, 5.8 if with_strip else 3.8), layout="constrained")
    if with_strip:
        ax, sax = fig.subplots(2, 1, sharex=True, height_ratios=[3.2, 2.0])
    else:
        ax = sax = fig.add_subplot()
    drawn = draw_timeline(ax, run)
    if with_strip:  # after the requests: its x limits take in the compile's samples
        strip.add_time_strip(sax, run)
    sax.set_xlabel("time since start (s)")
    title = (f"Batching timeline: {describe_run(run.summary)}; "
             f"arrivals {arrival_text(run.summary)}")
    line = batch_line(run.summary)
    if line:
        title += f"\n{line}"
    if drawn < len(run):
        title += f"  [{drawn} of {len(run)} requests drawn, evenly spread]"
    if finding_line(run.summary):
        title += f"\n{finding_line(run.summary)}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7, ncols=3)
    fig.supxlabel(footer_text(run.summary), x=0.01, ha="left", fontsize=8, color="0.3")
    return fig


def draw_latency(ax, run, label="latency", colour="#1f77b4", marks=True):
    """Latency against submission index on ``ax``; device switches as vertical lines."""
    ax.plot(run["request"], run["latency_ms"], lw=0.8, color=colour, label=label)
    if not marks:
        return
    median = median_ms(run.summary)
    if median is not None:
        ax.axhline(median, color="0.4", lw=0.8, ls="--", label=f"median {median:.1f} ms")
    window = run.summary.device_switch_window
    if window:
        inside = np.flatnonzero(switch.during(to_json(window), run["submitted_s"],
                                              run["completed_s"]))
        if inside.size:
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color=SWITCH_SPAN_COLOUR, alpha=0.12,
                       lw=0)
            ax.scatter(run["request"][inside], run["latency_ms"][inside], s=10,
                       color=SWITCH_SPAN_COLOUR,
                       label=f"{switch.DURING} ({window.from_} \u2192 {window.to}, "
                             f"{inside.size} requests: device unknown)")
        return
    for found in run.summary.device_switches or []:
        ax.axvline(found.request, color=SWITCH_COLOUR, lw=1.2)
        ax.annotate(f"{found.from_} \u2192 {found.to}\nrequest {found.request}",
                    (found.request, 1), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", va="top", fontsize=8,
                    color=SWITCH_COLOUR)


def plot_latency(run, figure=Figure):
    """Latency of each request against its submission index, device switches marked; the
    utilization strip below (placed by submit time) when the run has samples."""
    with_strip = strip.has_samples(run)
    fig = figure(figsize=(10, 7.5 if with_strip else 5.5), layout="constrained")
    if with_strip:
        ax, sax = fig.subplots(2, 1, sharex=True, height_ratios=[3.6, 1.9])
        strip.add_request_strip(ax, sax, run)
    else:
        ax = sax = fig.add_subplot()
    draw_latency(ax, run)
    xlabel = f"request (in submission order; arrivals {arrival_text(run.summary)})"
    if with_strip:
        xlabel += "; strip: load at the moment that request was submitted"
    sax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms)")
    ax.set_xlim(-0.5, max(len(run), 1) - 0.5)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.4)
    # the figure is 10 in wide: the arrivals go on a line of their own
    title = (f"Inference latency: {describe_run(run.summary)}\n"
             f"arrivals {arrival_text(run.summary)}")
    if run.summary.device_note:
        title += f"; {run.summary.device_note}"
    if finding_line(run.summary):
        title += f"\n{finding_line(run.summary, width=110)}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.supxlabel(footer_text(run.summary), x=0.01, ha="left", fontsize=8, color="0.3")
    return fig


def run_labels(runs):
    """A legend label per run: the settings and properties in which the runs differ."""
    flat = []
    for run in runs:
        s = run.summary
        items = {**{k: v for k, v in (s.settings or {}).items() if k not in ("out",)},
                 **(s.properties or {})}
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
    settings = {k: v for k, v in (summary.settings or {}).items() if k != "out"}
    return repr(sorted({**settings, **(summary.properties or {})}.items()))


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
    """Several runs in one picture: latency curves overlaid, or timelines stacked; a
    utilization strip for each run that has samples; the machines when they differ."""
    labels = run_labels(runs)
    if names:
        labels = [f"{n}: {lab}" for n, lab in zip(names, labels)]
    machines = machines_text(runs, names or labels)
    kinds = {run.summary.kind for run in runs}
    if kinds == {"timeline"}:
        fig = compare_timelines(runs, labels, figure)
    else:
        fig = compare_latency(runs, labels, figure, names)
    if machines:
        fig.supxlabel("measured on different machines:\n" + "\n".join(machines), x=0.01,
                      ha="left", fontsize=8, color="0.3")
    return fig


def compare_timelines(runs, labels, figure):
    rows = [(run, label, part) for run, label in zip(runs, labels)
            for part in (("requests", "strip") if strip.has_samples(run) else ("requests",))]
    heights = [2.2 if part == "requests" else 1.3 for _, _, part in rows]
    fig = figure(figsize=(16, 1.2 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    end = max(strip.run_end_s(run) for run in runs)
    left = -0.01 * end - 0.01
    for ax, (run, label, part) in zip(axes, rows):
        if part == "strip":
            strip.add_time_strip(ax, run, end)
            left = min(left, strip.time_limits(run, end)[0])
            continue
        draw_timeline(ax, run)
        line = batch_line(run.summary)
        ax.set_title(f"{label}   ({line})" if line else label, fontsize=9, loc="left")
    axes[-1].set_xlim(left, end * 1.02 + 0.01)
    axes[-1].set_xlabel("time since start (s)")
    fig.suptitle("Batching timelines compared", fontsize=11)
    return fig


def compare_latency(runs, labels, figure, names=None):
    with_strip = [(run, label) for run, label in zip(runs, labels) if strip.has_samples(run)]
    heights = [3.6] + [1.4] * len(with_strip)
    fig = figure(figsize=(10, 1.9 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(heights), 1, sharex=True, squeeze=False,
                        height_ratios=heights)[:, 0]
    ax = axes[0]
    for sax, (run, label) in zip(axes[1:], with_strip):
        to_x = strip.latency_axis(run)
        strip.draw_strip(sax, run, to_x)
        strip.mark_switches(sax, run, to_x)
        sax.set_title(label, fontsize=8, loc="left")
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
        median = median_ms(run.summary)
        text = f"{label} (median {median:.1f} ms)" if median is not None else label
        draw_latency(ax, run, label=text, colour=colour, marks=False)
    axes[-1].set_xlabel("request (in submission order)" + (
        "; strips: load at the moment that request was submitted"
        if with_strip else ""))
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.4)
    ax.legend(fontsize=8)
    ax.set_title("Inference latency compared", fontsize=11)
    return fig


PLOTS = {"timeline": plot_timeline, "latency": plot_latency}
