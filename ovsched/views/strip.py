"""The utilization strip of the final figures: how busy the CPU, GPU and NPU were, on the
same horizontal axis as the requests above it, from a run's samples (``run.utilization``).

A sample is the average over the period that ends at its time, so it is drawn as a step
over that period. On the timeline the axis is time; on the latency graph it is the request
number, and a moment is placed where the requests were submitted then (``time_to_request``).
"""

import re

import numpy as np

CORE = re.compile(r"^cpu\d+$")
GPU_COLOURS = ("#1f77b4", "#2ca02c", "#17becf", "#8c564b", "#bcbd22", "#7f7f7f")
COLOURS = {"cpu": "#333333", "process": "#9467bd"}
NPU_COLOUR = "#e377c2"
CORE_COLOUR = "#bbbbbb"
BATCH_MARK = dict(color="#1f77b4", lw=0.5, alpha=0.35)
SWITCH_COLOUR = "#d62728"
COMPILE_COLOUR = "#fdd9a0"
# Past this many batches the strip leaves their completions unmarked: the lines would
# cover it.
MAX_BATCH_MARKS = 300
# At most this share of the run's length is shown before the first request was due, so
# that a long compile does not squeeze the requests.
BEFORE_START_SHARE = 0.25
LABELS = {"cpu": "cpu (all cores, every process)", "process": "this process",
          "gpu.awake": "gpu awake (whole card)", "gpu.awake.gt1": "gpu GT 1 awake (media)",
          "npu": "npu (whole device)",
          "npu.process": "npu (this process)",
          "gpu.adapter_busiest_engine": "gpu busiest engine (whole card)",
          "gpu.process_busiest_engine": "gpu busiest engine (this process)"}
CAPPED_MARK = dict(marker="v", s=14, color="#d62728", zorder=5, clip_on=False)
CAPPED_LABEL = "capped at 0/100 % (measured value in utilization.csv)"


def has_samples(run):
    samples = getattr(run, "utilization", None)
    return bool(samples) and len(samples["time_s"]) > 0


def series(samples):
    """{source: (time_s array, value array)} in time order, sources in first-seen order."""
    return {source: (t, v) for source, (t, v, _, _) in details(samples).items()}


def details(samples):
    """{source: (time_s, value, period_s (NaN where unknown), capped)} arrays in time order;
    files of earlier versions have no periods and nothing capped."""
    n = len(samples["time_s"])
    t = np.asarray(samples["time_s"], dtype=float)
    v = np.asarray(samples["value"], dtype=float)
    src = np.asarray(samples["source"], dtype=object)
    periods = samples.get("period_s") or [None] * n
    p = np.asarray([np.nan if x is None else x for x in periods], dtype=float)
    capped = np.asarray([u is not None for u in (samples.get("uncapped") or [None] * n)])
    out = {}
    for source in dict.fromkeys(samples["source"]):
        keep = src == source
        order = np.argsort(t[keep], kind="stable")
        out[source] = (t[keep][order], v[keep][order], p[keep][order], capped[keep][order])
    return out


def period_s(run):
    block = run.summary.utilization
    return ((block.period_ms if block else None) or 100.0) / 1e3


def time_to_request(t_s, submitted_s, interval_ms):
    """Moments (s) as fractional request numbers: between two submits, linearly; before the
    first and after the last, one request per ``interval_ms`` (or per the mean spacing of
    the submits when the interval is 0). NaN when nothing was submitted."""
    t = np.asarray(t_s, dtype=float)
    sub = np.asarray(submitted_s, dtype=float)
    sub = sub[np.isfinite(sub)]
    if sub.size == 0:
        return np.full(t.shape, np.nan)
    idx = np.arange(sub.size, dtype=float)
    x = np.interp(t, sub, idx)
    step_s = (interval_ms or 0) / 1e3
    if step_s <= 0 and sub.size > 1 and sub[-1] > sub[0]:
        step_s = (sub[-1] - sub[0]) / (sub.size - 1)
    if step_s > 0:
        x = np.where(t < sub[0], (t - sub[0]) / step_s, x)
        x = np.where(t > sub[-1], sub.size - 1 + (t - sub[-1]) / step_s, x)
    return x


def latency_axis(run):
    """The latency graph's mapping from seconds to its request axis."""
    interval = run.summary.setting("interval")
    sub = run["submitted_s"]
    return lambda t: time_to_request(t, sub, interval)


def _colour(source, gpu_seen):
    if source in COLOURS:
        return COLOURS[source]
    if source.startswith("npu"):
        return NPU_COLOUR
    if source.startswith("gpu."):
        gpu_seen.setdefault(source, GPU_COLOURS[len(gpu_seen) % len(GPU_COLOURS)])
        return gpu_seen[source]
    return "#7f7f7f"


def draw_strip(ax, run, to_x=None):
    """Percent sources of ``run.utilization`` as steps on ``ax`` (x = ``to_x(seconds)``,
    seconds when None); each core thin and grey, the process's memory as text. Returns the
    sources drawn."""
    to_x = to_x or (lambda t: np.asarray(t, dtype=float))
    drawn, gpu_seen, core_labelled, capped_labelled = [], {}, False, False
    all_series = details(run.utilization)
    for source, (t, v, p, capped) in all_series.items():
        if source.endswith("_mb"):
            continue
        # a step from the period's start (its own, where the file has it; the GPU and the
        # NPU have longer ones): prepend it so the first period is drawn too
        first = p[0] if np.isfinite(p[0]) else period_s(run)
        x = to_x(np.concatenate([[t[0] - first], t]))
        y = np.concatenate([[v[0]], v])
        if CORE.match(source):
            label = None if core_labelled else "each core"
            core_labelled = True
            ax.step(x, y, where="pre", lw=0.6, color=CORE_COLOUR, label=label, zorder=1)
        else:
            ax.step(x, y, where="pre", lw=1.3 if source == "cpu" else 1.1,
                    color=_colour(source, gpu_seen), label=LABELS.get(source, source),
                    zorder=3)
        if capped.any():
            # where busy time came in a lump (GuC) or PDH passed 100 %: the mean is still true
            ax.scatter(to_x(t[capped]), np.where(v[capped] > 50, 104.0, 1.0),
                       label=None if capped_labelled else CAPPED_LABEL, **CAPPED_MARK)
            capped_labelled = True
        drawn.append(source)
    if "rss_mb" in all_series:
        mb = all_series["rss_mb"][1]
        ax.text(1.006, 0.0, f"process memory\n{mb.min():.0f}\u2013{mb.max():.0f} MB",
                transform=ax.transAxes, ha="left", va="bottom", fontsize=7, color="0.35")
    ax.set_ylim(0, 108)
    ax.set_yticks([0, 50, 100])
    ax.set_ylabel("busy %", fontsize=8)
    ax.grid(axis="both", alpha=0.3)
    # beside the strip, not on it: the lines run along its top at full load
    ax.legend(loc="upper left", bbox_to_anchor=(1.002, 1.0), fontsize=7, frameon=False)
    return drawn


def mark_compile(ax, run):
    """Shade the compile on a time axis; a dashed line where the first request was due."""
    s = run.summary
    if s.compile_started_s is not None and s.compile_s is not None:
        start = s.compile_started_s
        ax.axvspan(start, start + s.compile_s, color=COMPILE_COLOUR, alpha=0.6, lw=0,
                   zorder=0, label="compiling")
    ax.axvline(0, color="0.5", lw=0.8, ls="--", zorder=2)


def time_limits(run, end_s):
    """x limits of a timeline with a strip: from the first sample's period (at most
    BEFORE_START_SHARE of the run before 0) to a little after ``end_s``."""
    first = min(run.utilization["time_s"]) - period_s(run)
    left = max(first, -BEFORE_START_SHARE * end_s) if first < 0 else 0.0
    return left - 0.01 * end_s - 0.01, end_s * 1.02 + 0.01


def batch_ends_s(run):
    """When each batch completed (its last member), in seconds."""
    batch, comp = run["batch"], run["completed_s"]
    ends = [np.nanmax(comp[batch == b]) for b in np.unique(batch[batch >= 0])]
    return np.asarray([e for e in ends if np.isfinite(e)])


def mark_batches(ax, run, to_x=None):
    """A faint line where each batch completed; none past MAX_BATCH_MARKS batches."""
    ends = batch_ends_s(run)
    if 0 < ends.size <= MAX_BATCH_MARKS:
        for x in (to_x(ends) if to_x else ends):
            ax.axvline(x, zorder=0, **BATCH_MARK)
    return ends.size


def mark_switches(ax, run, to_x=None):
    """AUTO's device switches as red lines (``to_x`` None: at their time in seconds)."""
    for switch in run.summary.device_switches or []:
        x = switch.time_s if to_x is None else switch.request
        ax.axvline(x, color=SWITCH_COLOUR, lw=1.2, zorder=4)


def run_end_s(run):
    """The last submit or completion, in seconds (1 when there is none)."""
    times = np.concatenate([run["submitted_s"], run["completed_s"]])
    return float(np.nanmax(times)) if np.isfinite(times).any() else 1.0


def add_time_strip(sax, run, end_s=None):
    """The strip under a timeline (x in seconds, shared with it): compile shaded, batch
    completions and device switches marked; the x limits take in the compile's samples."""
    draw_strip(sax, run)
    mark_compile(sax, run)
    mark_batches(sax, run)
    mark_switches(sax, run)
    sax.set_xlim(*time_limits(run, run_end_s(run) if end_s is None else end_s))


def add_request_strip(ax, sax, run):
    """The strip under a latency graph (x in request numbers, shared with it): batch
    completions marked in both panels, device switches in the strip (the graph has its own)."""
    to_x = latency_axis(run)
    draw_strip(sax, run, to_x)
    mark_batches(ax, run, to_x)
    mark_batches(sax, run, to_x)
    mark_switches(sax, run, to_x)
