"""``breakdown.png``: each request's response time (``completed - due``) stacked from its
parts, in submission order and sorted by response time, with the measured compute time
beside it. Drawn from the records' columns (derive/breakdown.py), so a saved run draws the
same picture."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..data.parts import Breakdown
from ..data.runfile import from_json
from ..derive import breakdown

FIGURE_NAME = "breakdown.png"
# (column, legend text, colour); "infer_ms" stands for batch wait + device where they are
# not split (label unknown, or no launch time).
LAYERS = (("client_ms", "client (submitted late: own delay or earlier waits)", "#bcbd22"),
          ("queue_wait_ms", "queue wait (no free slot)", "#7f7f7f"),
          ("lateness_ms", "late submit: client + queue wait, not split (older run)", "#dbdb8d"),
          ("batch_wait_ms", "batch wait (filling, or the timer)", "#ff7f0e"),
          ("device_ms", "device (streams included)", "#1f77b4"),
          ("infer_ms", "inference: batch wait + device, not split", "#c5b0d5"),
          ("callback_ms", "callback (after OpenVINO's end)", "#2ca02c"))
# Past this many requests the parts are drawn as stacked areas instead of bars.
MAX_BARS = 400


def layers(c):
    """The stacked values (ms, 0 where the part does not apply) per layer, and the mask of
    the completed requests."""
    p = breakdown.parts(c)
    done = ~np.isnan(breakdown.response_ms(c))
    split = ~np.isnan(p["batch_wait_ms"])
    values = {}
    for name, _, _ in LAYERS:
        if name == "infer_ms":
            v = np.where(split, 0.0, np.asarray(c["infer_ms"], dtype=float))
        elif name == "lateness_ms":
            late = (np.asarray(c["submitted_s"], float) - np.asarray(c["scheduled_s"], float))
            v = np.where(np.isnan(p["queue_wait_ms"]), late * 1e3, 0.0)
        else:
            v = p[name]
        values[name] = np.where(done, np.nan_to_num(v, nan=0.0), 0.0)
    return values, done


def _stack(ax, x, values, order=None):
    bottom = np.zeros(len(x))
    many = len(x) > MAX_BARS
    for name, _, colour in LAYERS:
        v = values[name] if order is None else values[name][order]
        if not v.any():
            continue
        if many:
            ax.fill_between(x, bottom, bottom + v, step="mid", color=colour, linewidth=0)
        else:
            ax.bar(x, v, bottom=bottom, width=0.85, color=colour, linewidth=0)
        bottom = bottom + v
    return bottom


def plot_breakdown(run, figure=Figure):
    """The figure: top, requests in submission order; bottom, sorted by response time with
    the median, p90 and p99 ranks marked."""
    c = run.columns
    values, done = layers(c)
    response = breakdown.response_ms(c)
    compute = np.asarray(c.get("compute_ms", np.full(len(run), np.nan)), dtype=float)
    fig = figure(figsize=(11, 7.5))
    top, bottom = fig.subplots(2, 1)
    x = np.arange(len(run))
    _stack(top, x, values)
    measured = ~np.isnan(compute)
    if measured.any():
        top.scatter(x[measured], compute[measured], s=8, color="black", zorder=3,
                    label="compute (profiled)")
    top.set_xlabel("request (submission order)")
    top.set_ylabel("ms")
    order = np.flatnonzero(done)
    order = order[np.argsort(response[order], kind="stable")]
    ranks = np.arange(len(order))
    _stack(bottom, ranks, values, order)
    for label, q in breakdown.RANKS[:3]:
        i = breakdown.rank_index(response, q)
        if i is not None:
            k = int(np.flatnonzero(order == i)[0])
            bottom.axvline(k, color="black", linewidth=0.6, linestyle=":")
            bottom.annotate(label, (k, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(2, -10), textcoords="offset points", fontsize=8)
    bottom.set_xlabel("requests sorted by response time (completed - due)")
    bottom.set_ylabel("ms")
    for ax in (top, bottom):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-1, max(len(run), 1))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    shown = [(n, t, col) for n, t, col in LAYERS if values[n].any()]
    handles = [Patch(color=col, label=t) for _, t, col in shown]
    if measured.any():
        handles.append(top.collections[-1])
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=4, frameon=False)
    block = run.summary.breakdown or from_json(Breakdown, breakdown.summarize(c))
    p99 = next((e for e in block.requests or [] if e["rank"] == "p99"), None)
    title = "Where each request's time went"
    if p99 is not None:
        title += f"\n{breakdown.line(p99)}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
