"""What the sweep advises, from its rows: per offered rate, and within a p99 budget.

Two settings are ranked only when their 95 % intervals separate; where a p99 cannot be
bounded the advice says "too few requests" and how many would do."""

import math

from .results import KEEP_UP


def describe_cell(row, keys=None):
    """'BATCH:CPU(4), timeout 100 ms' or 'CPU (no batching)', and the labels of ``keys``
    (default: every label; ``varying(rows)`` gives those that tell the rows apart)."""
    if not row.batching:
        text = f"{row.device} (no batching)"
    else:
        timeout = "unknown" if row.timeout_ms is None else f"{row.timeout_ms:g} ms"
        text = f"{row.device}, timeout {timeout}"
    extra = ", ".join(f"{k} {v}" for k, v in row.labels.items() if keys is None or k in keys)
    return f"{text}, {extra}" if extra else text


def varying(rows):
    """The label keys whose values differ between ``rows``."""
    keys = dict.fromkeys(k for r in rows for k in r.labels)
    return tuple(k for k in keys if len({r.labels.get(k) for r in rows}) > 1)


def _rate_text(rate):
    return "as fast as possible" if math.isinf(rate) else f"{rate:g}/s"


def _ms(value):
    return "?" if value is None else f"{value:.1f}"


def p99_text(row):
    """'p99 41.0 ms (95 % CI 38.2-47.9)' or, unbounded, the requests a bound needs."""
    head = f"p99 {_ms(row.p99_ms)} ms"
    if row.p99_bounded:
        return f"{head} (95 % CI {_ms(row.p99_ci_low_ms)}-{_ms(row.p99_ci_high_ms)})"
    return f"{head} ({too_few(row)})"


def too_few(row):
    need = row.p99_needed_requests
    return (f"too few requests for a bound: {row.requests}, about {need} would do"
            if need else "too few requests for a bound")


def row_text(row, keys=None):
    due = row.due_per_s
    of = f" of {due:.1f}/s due" if due is not None and math.isfinite(due) else ""
    achieved = "unknown" if row.achieved_per_s is None else f"{row.achieved_per_s:.1f}/s"
    return (f"{describe_cell(row, keys)} [{row.cell}]: {p99_text(row)}, p50 {_ms(row.p50_ms)} ms, "
            f"achieved {achieved}{of}, {row.requests} requests in {row.repeats} runs")


def separated(a, b):
    """-1 when a's p99 is surely below b's, 1 when above, 0 when their intervals overlap,
    None when either has no bound."""
    if not (a.p99_bounded and b.p99_bounded):
        return None
    if a.p99_ci_high_ms < b.p99_ci_low_ms:
        return -1
    if b.p99_ci_high_ms < a.p99_ci_low_ms:
        return 1
    return 0


def by_offered_rate(rows):
    """Rows grouped by their offered rate, in increasing order."""
    groups = {}
    for row in rows:
        if row.offered_per_s is not None and row.p99_ms is not None:
            groups.setdefault(row.offered_per_s, []).append(row)
    return dict(sorted(groups.items()))


def best_keeping_up(rows):
    """The row with the lowest p99 among those that keep up, or None."""
    kept = [r for r in rows if r.keeps_up]
    return min(kept, key=lambda r: r.p99_ms) if kept else None


def advise(rows, p99_budget_ms=None):
    """Per offered rate, the advice lines: ``[(rate, best_row_or_None, [lines])]``.

    Without a budget: the lowest p99 that keeps up, beside no batching. With one: the
    highest achieved throughput whose p99 surely fits."""
    advice = []
    keys = varying(rows)
    for rate, group in by_offered_rate(rows).items():
        head = f"offered {_rate_text(rate)}:"
        if p99_budget_ms is not None:
            best, lines = within_budget(group, p99_budget_ms, head, keys)
        else:
            best, lines = lowest_p99(group, head, keys)
        advice.append((rate, best, lines))
    return advice


def lowest_p99(group, head, keys=None):
    best = best_keeping_up(group)
    plain = [r for r in group if not r.batching]
    base = best_keeping_up(plain) or (min(plain, key=lambda r: r.p99_ms) if plain else None)
    if best is None:
        top = max(group, key=lambda r: r.achieved_per_s or 0)
        return None, [f"{head} no setting keeps up (achieved >= {KEEP_UP:.0%} of offered); "
                      f"the most came from {describe_cell(top, keys)} [{top.cell}]: "
                      f"{top.achieved_per_s or 0:.1f}/s"]
    lines = [f"{head} lowest p99 that keeps up: {row_text(best, keys)}"]
    others = [r for r in group if r.keeps_up and r is not best]
    if not best.p99_bounded:
        lines.append(f"  cannot rank the settings at this rate: {too_few(best)}")
    else:
        tied = [r for r in others if separated(best, r) != -1]
        if tied:
            lines.append("  not separated from it (95 % intervals overlap or unbounded): " +
                         ", ".join(f"[{r.cell}]" for r in tied[:6]) +
                         (" ..." if len(tied) > 6 else ""))
    if base is None:
        lines.append("  no cell without batching was measured at this rate")
    elif base is best and not best.p99_bounded:
        lines.append("  whether batching helps cannot be told here: too few requests")
    elif base is best:
        lines.append("  batching does not help here: no batched setting that keeps up has a "
                     "lower p99 than no batching")
    elif not base.keeps_up:
        lines.append(f"  no batching does not keep up: {row_text(base, keys)}")
    else:
        verdict = separated(best, base)
        if verdict is None:
            lines.append(f"  beside no batching, {row_text(base, keys)}: too few requests to rank "
                         f"them")
        elif verdict == 0:
            lines.append(f"  beside no batching, {row_text(base, keys)}: no significant difference "
                         f"(their 95 % intervals overlap)")
        else:
            lines.append(f"  beside no batching, {row_text(base, keys)}: batching lowers p99 by "
                         f"{base.p99_ms - best.p99_ms:.1f} ms")
    return best, lines


def fits(row, budget_ms):
    """True when the p99's upper bound fits the budget, False when its lower bound does not,
    None when the data cannot decide (the interval straddles it, or there is none)."""
    if row.p99_bounded:
        if row.p99_ci_high_ms <= budget_ms:
            return True
        if row.p99_ci_low_ms > budget_ms:
            return False
    return None


def within_budget(group, budget_ms, head, keys=None):
    served = [r for r in group if r.keeps_up and fits(r, budget_ms)]
    maybe = [r for r in group if r.keeps_up and fits(r, budget_ms) is None]
    if not served:
        lines = [f"{head} no setting that keeps up has a p99 surely within {budget_ms:g} ms"]
        if maybe:
            r = min(maybe, key=lambda r: r.p99_ms)
            lines.append(f"  cannot tell for {row_text(r, keys)}")
        return None, lines
    best = max(served, key=lambda r: r.achieved_per_s or 0)
    lines = [f"{head} highest throughput with p99 <= {budget_ms:g} ms: {row_text(best, keys)}"]
    close = [r for r in served if r is not best and r.achieved_min_per_s is not None
             and best.achieved_max_per_s is not None
             and r.achieved_min_per_s <= best.achieved_max_per_s]
    if close:
        lines.append("  no significant difference in throughput from " +
                     ", ".join(f"{describe_cell(r, keys)} [{r.cell}]" for r in close[:4]) +
                     (" ..." if len(close) > 4 else ""))
    if maybe:
        lines.append(f"  {len(maybe)} more keep up with a p99 that may fit (too few requests "
                     f"to tell), e.g. [{maybe[0].cell}]")
    return best, lines


def overall_budget_line(rows, budget_ms):
    """The highest throughput of the whole sweep within the budget, over every rate."""
    served = [r for r in rows if r.keeps_up and fits(r, budget_ms)
              and r.achieved_per_s is not None]
    if not served:
        return f"no cell of the sweep keeps up with a p99 surely within {budget_ms:g} ms"
    best = max(served, key=lambda r: r.achieved_per_s)
    keys = varying(rows)
    return (f"overall, the highest throughput with p99 <= {budget_ms:g} ms: {row_text(best, keys)} "
            f"(offered {_rate_text(best.offered_per_s)})")


def say_advice(rows, p99_budget_ms=None, say=print):
    for _, _, lines in advise(rows, p99_budget_ms):
        for line in lines:
            say(line)
    if p99_budget_ms is not None:
        say(overall_budget_line(rows, p99_budget_ms))
