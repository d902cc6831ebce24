"""The sweep's figures: latency per setting at each request rate with its interval, and the
highest rate each setting serves within a p99 budget."""

import math

from .advice import describe_cell, varying


def setting_of(row, keys=None):
    """The row's setting without its rate: what one line of the figure joins."""
    return describe_cell(row, keys)


def plot_sweep(rows, figure=None):
    """p99 (left) and p50 (right) against the offered rate, one line per setting, each point
    with its 95 % interval; a point without a bound (too few requests) is a cross, one
    that does not keep up is faint."""
    from matplotlib.figure import Figure
    rows = [r for r in rows if r.offered_per_s is not None and r.p99_ms is not None
            and math.isfinite(r.offered_per_s)]
    keys = varying(rows)
    settings = list(dict.fromkeys(setting_of(r, keys) for r in rows))
    fig = (figure or Figure)(figsize=(11, 4.8 + 0.18 * max(0, len(settings) - 6)),
                             layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    colours = [f"C{k % 10}" for k in range(len(settings))]
    for ax, name in zip(axes, ("p99", "p50")):
        for setting, colour in zip(settings, colours):
            mine = sorted((r for r in rows if setting_of(r, keys) == setting),
                          key=lambda r: r.offered_per_s)
            x = [r.offered_per_s for r in mine]
            y = [getattr(r, f"{name}_ms") for r in mine]
            ax.plot(x, y, "-", color=colour, lw=1, alpha=0.6,
                    label=setting if name == "p99" else None)
            for r, xi, yi in zip(mine, x, y):
                low, high = getattr(r, f"{name}_ci_low_ms"), getattr(r, f"{name}_ci_high_ms")
                alpha = 1.0 if r.keeps_up else 0.35
                if low is None or high is None:
                    ax.plot(xi, yi, "x", color=colour, ms=7, alpha=alpha)
                    continue
                ax.errorbar(xi, yi, yerr=[[yi - low], [high - yi]], fmt="o", color=colour,
                            ms=5, capsize=3, alpha=alpha)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("offered request rate (requests/s)")
        ax.set_ylabel(f"{name} latency (ms), 95 % interval")
        ax.set_title(f"{name} over the pooled requests of the repeats", fontsize=10)
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
