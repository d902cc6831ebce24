"""The sweep's figures: latency per setting at each request rate with its interval, and the
highest rate each setting serves within a p99 budget."""

import math

from .advice import describe_cell, varying


def setting_of(row, keys=None):
    """The row's setting without its rate: what one line of the figure joins."""
    return describe_cell(row, keys)


# Up to this many offered rates, one panel per rate with a line per setting; more (a rate
# search's probes), latency against the rate.
PANELS = 4


def _plain_ticks(axis):
    from matplotlib.ticker import FuncFormatter
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if v > 0 and f"{v:e}"[0] in "25" else ""))


def plot_sweep(rows, figure=None, budget_ms=None):
    """The sweep's latencies with their 95 % intervals: per offered rate a panel with one
    line per setting (p50 hollow, p99 filled), or, over many rates, p99 and p50 against the
    rate with a line per setting. A cross is a p99 without a bound (too few requests), a
    faint point a cell that does not keep up."""
    rows = [r for r in rows if r.offered_per_s is not None and r.p99_ms is not None]
    rates = sorted({r.offered_per_s for r in rows})
    if len(rates) > PANELS:
        return plot_against_rate(rows, figure, budget_ms)
    from matplotlib.figure import Figure
    keys = varying(rows)
    settings = list(dict.fromkeys(setting_of(r, keys) for r in rows))
    n = max(len(rates), 1)
    fig = (figure or Figure)(figsize=(4.2 + 3.6 * n, 1.6 + 0.34 * len(settings)),
                             layout="constrained")
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for ax, rate in zip(axes, rates):
        for r in (r for r in rows if r.offered_per_s == rate):
            y = settings.index(setting_of(r, keys))
            alpha = 1.0 if r.keeps_up else 0.35
            for name, marker, face in (("p50", "o", "none"), ("p99", "o", None)):
                value = getattr(r, f"{name}_ms")
                low, high = getattr(r, f"{name}_ci_low_ms"), getattr(r, f"{name}_ci_high_ms")
                colour = "#1f77b4" if name == "p50" else "#d62728"
                if low is None or high is None:
                    ax.plot(value, y, "x", color=colour, ms=8, alpha=alpha)
                    continue
                ax.errorbar(value, y, xerr=[[value - low], [high - value]], fmt=marker,
                            mfc=face or colour, color=colour, ms=6, capsize=3, alpha=alpha)
            if r.keeps_up is False:
                ax.annotate("falls behind", (r.p99_ms, y), xytext=(6, -3),
                            textcoords="offset points", fontsize=7, color="0.4")
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
        if budget_ms is not None:
            ax.axvline(budget_ms, color="0.3", ls=":", lw=1)
        ax.set_title(f"offered {_rate(rate)}", fontsize=10)
        ax.set_xlabel("latency (ms): p50 hollow blue, p99 filled red")
        ax.grid(True, alpha=0.3, which="both", axis="x")
    axes[0].set_yticks(range(len(settings)), settings, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle("Sweep: pooled requests of the repeats, bars = 95 % interval; "
                 "x = too few requests for a bound; faint = does not keep up", fontsize=9)
    return fig


def _rate(rate):
    return "as fast as possible" if math.isinf(rate) else f"{rate:g}/s"


def plot_against_rate(rows, figure=None, budget_ms=None):
    """p99 (left) and p50 (right) against the offered rate, one line per setting."""
    from matplotlib.figure import Figure
    rows = [r for r in rows if math.isfinite(r.offered_per_s)]
    keys = varying(rows)
    settings = list(dict.fromkeys(setting_of(r, keys) for r in rows))
    fig = (figure or Figure)(figsize=(11, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, name in zip(axes, ("p99", "p50")):
        for k, setting in enumerate(settings):
            colour = f"C{k % 10}"
            mine = sorted((r for r in rows if setting_of(r, keys) == setting),
                          key=lambda r: r.offered_per_s)
            x = [r.offered_per_s for r in mine]
            y = [getattr(r, f"{name}_ms") for r in mine]
            ax.plot(x, y, "-", color=colour, lw=1, alpha=0.6, label=setting)
            for r, xi, yi in zip(mine, x, y):
                low, high = getattr(r, f"{name}_ci_low_ms"), getattr(r, f"{name}_ci_high_ms")
                alpha = 1.0 if r.keeps_up else 0.35
                if low is None or high is None:
                    ax.plot(xi, yi, "x", color=colour, ms=7, alpha=alpha)
                else:
                    ax.errorbar(xi, yi, yerr=[[yi - low], [high - yi]], fmt="o",
                                color=colour, ms=5, capsize=3, alpha=alpha)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_ticks(ax.xaxis)
        _plain_ticks(ax.yaxis)
        if budget_ms is not None and name == "p99":
            ax.axhline(budget_ms, color="0.3", ls=":", lw=1, label=f"budget {budget_ms:g} ms")
        ax.set_xlabel("offered request rate (requests/s)")
        ax.set_ylabel(f"{name} latency (ms), 95 % interval")
        ax.grid(True, alpha=0.3, which="both")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Sweep: one line per setting; x = too few requests for a bound; "
                 "faint = does not keep up", fontsize=9)
    return fig


def plot_capacity(rows, budget_ms, figure=None):
    """One bar per setting (``rows``: capacity.Capacity): the highest rate found that keeps
    up with its p99's upper bound within ``budget_ms``, labelled with that p99 and its
    interval, and the rate above it that failed."""
    from matplotlib.figure import Figure
    fig = (figure or Figure)(figsize=(8, 1.2 + 0.45 * max(len(rows), 1)), layout="constrained")
    ax = fig.subplots()
    names = [c.setting for c in rows]
    rates = [c.rate_per_s or 0.0 for c in rows]
    ax.barh(range(len(rows)), rates, color=["C0" if c.rate_per_s else "0.8" for c in rows])
    for k, c in enumerate(rows):
        r = c.row
        if c.rate_per_s is None or r is None:
            text = f" none found: {c.note}"
        else:
            text = (f" {c.rate_per_s:.3g}/s: p99 {r.p99_ms:.1f} ms "
                    f"({r.p99_ci_low_ms:.1f}-{r.p99_ci_high_ms:.1f})")
            if c.above_per_s:
                text += f"; not at {c.above_per_s:.3g}/s"
        ax.text(rates[k], k, text, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("highest Poisson request rate served (requests/s)")
    ax.set_xlim(0, max(rates + [1.0]) * 1.6)
    ax.set_title(f"Capacity within p99 <= {budget_ms:g} ms (upper 95 % bound), keeping up",
                 fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return fig
