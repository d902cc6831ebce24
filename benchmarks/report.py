"""The table of figures: one row per figure, printed and written as JSON.

A figure is a plain dict with at least ``section``, ``key``, ``figure``, ``value``, ``unit``,
``target`` and ``verdict``; a paired comparison adds ``pairs``, ``ci_low``, ``ci_high``,
``ratios``, ``spread`` and the machine's state before and after. A figure that could not be
measured has value None and a ``note`` saying why.

A single wall-clock figure (no pairs, so no interval) is marked ``wall_clock``: when other
processes took more than OTHER_LOAD_LIMIT of the machine's CPUs during its section, its
verdict is INCONCLUSIVE, since one round on a busy machine shows the machine, not the tool.
"""

import json
import math
import os

import numpy as np

from benchmarks import machine, pairs

OTHER_LOAD_LIMIT = 0.25  # share of all CPUs used by other processes during a section


def plain(value):
    """JSON-ready: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def target_text(target):
    return None if target is None else f"{target[0]} {target[1]:g}"


class Report:
    """Figures, skipped parts with their reason, warnings, failures, per-section details."""

    def __init__(self):
        self.figures = []
        self.skipped = []
        self.failed = []
        self.warnings = []
        self.sections = {}

    def _row(self, section, key, figure, value, unit, target, verdict, peers, note):
        row = {"section": section, "key": f"{section}.{key}", "figure": figure, "value": value,
               "unit": unit, "target": target_text(target), "verdict": verdict,
               "peers": peers or {}}
        if note:
            row["note"] = note
        self.figures.append(row)
        return row

    def add(self, section, key, figure, value, unit="", target=None, peers=None, note=None,
            wall_clock=False):
        """One measured value; ``target`` is (op, bound), op one of pairs.OPS. ``wall_clock``:
        a single timing that other processes' load can decide (see settle_under_load)."""
        verdict = None
        if target is not None and value is not None and math.isfinite(value):
            verdict = "PASS" if pairs.meets(value, target) else "MISS"
        row = self._row(section, key, figure, value, unit, target, verdict, peers, note)
        if wall_clock:
            row["wall_clock"] = True
        return row

    @staticmethod
    def inconclusive(row, why):
        """Withdraw a row's PASS/MISS: the conditions of its measurement cannot decide it."""
        if row["verdict"] in ("PASS", "MISS"):
            row["verdict"] = "INCONCLUSIVE"
            row["note"] = why if not row.get("note") else f"{row['note']}; {why}"

    def settle_under_load(self, section, other_share, limit=OTHER_LOAD_LIMIT):
        """INCONCLUSIVE for the section's wall-clock figures when other processes used more
        than ``limit`` of the machine's CPUs meanwhile (None: unknown, left as measured)."""
        for row in self.figures:
            if row["section"] == section and row.get("wall_clock"):
                self.settle_row(row, other_share, limit)

    def settle_row(self, row, other_share, limit=OTHER_LOAD_LIMIT):
        """settle_under_load for one row, with the load of the time it was measured in."""
        if other_share is not None and other_share > limit:
            self.inconclusive(row, f"other processes used {other_share * 100:.0f} % of the "
                                   f"CPUs meanwhile (over {limit * 100:.0f} %): one "
                                   f"wall-clock round cannot decide")

    def unknown(self, section, key, figure, why, unit="", target=None):
        """A figure that this run cannot give: value None, and why."""
        return self._row(section, key, figure, None, unit, target, None, None, why)

    def add_comparison(self, section, key, figure, measured, target, peers=None):
        """The median of per-pair ratios A / B with its interval and verdict; ``measured``
        is what pairs.measure_pairs returned."""
        result = pairs.compare(measured["a"], measured["b"], target)
        row = self._row(section, key, figure, result["median"], "", target, result["verdict"],
                        peers, None)
        before, after = measured["before"], measured["after"]
        row.update(pairs=result["pairs"], ci_low=result["ci_low"], ci_high=result["ci_high"],
                   ratios=result["ratios"], spread=result["spread"],
                   load_average_before=before["load_average"],
                   load_average_after=after["load_average"],
                   cpu_steal_share=machine.steal_share(before, after),
                   machine=machine.describe(before, after))
        return row

    def skip(self, section, what, why):
        self.skipped.append({"section": section, "what": what, "why": why})
        print(f"  skipped: {what}: {why}", flush=True)

    def detail(self, section, **values):
        self.sections.setdefault(section, {}).update(values)


def fmt(value):
    if value is None:
        return "unknown"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _interval(f):
    if "pairs" in f:
        return f"[{fmt(f['ci_low'])}, {fmt(f['ci_high'])}] of {f['pairs']} pairs"
    if "tenths" in f:  # the scale run's line through its tenths (scale.rate_trend)
        return f"[{fmt(f['ci_low'])}, {fmt(f['ci_high'])}] of {f['tenths']} tenths"
    return "-"


def print_table(report):
    header = ("section", "figure", "value", "unit", "target", "verdict", "95% CI",
              "peer (same run)")
    rows = []
    for f in report.figures:
        peers = "; ".join(f"{k} {fmt(v)}" for k, v in f["peers"].items()) or "-"
        rows.append((f["section"], f["figure"], fmt(f["value"]), f["unit"], f["target"] or "-",
                     f["verdict"] or "-", _interval(f), peers))
    widths = [max(len(r[c]) for r in rows + [header]) for c in range(len(header) - 1)]
    print()
    for r in [header] + rows:
        cells = [r[c].rjust(widths[c]) if c == 2 else r[c].ljust(widths[c])
                 for c in range(len(header) - 1)]
        print("  ".join(cells + [r[-1]]))
    print()
    notes = {}  # note -> keys, so that one reason shared by many figures prints once
    for f in report.figures:
        if "pairs" in f and f.get("spread"):
            s = f["spread"]
            print(f"{f['key']}: ratios {fmt(s['min'])} .. {fmt(s['max'])} (quartiles "
                  f"{fmt(s['q1'])} .. {fmt(s['q3'])}); {f['machine']}")
        if "pairs" not in f and f.get("note"):
            notes.setdefault(f["note"], []).append(f["key"])
    for note, keys in notes.items():
        print(f"{', '.join(keys)}: {note}")
    for name, d in report.sections.items():
        share = d.get("other_cpu_share")
        if share is not None:
            print(f"{name}: {d['wall_s']:.0f} s; other processes used {share * 100:.0f}% "
                  f"of the machine's CPUs meanwhile")
    for w in report.warnings:
        print(f"warning: {w}")
    for s in report.skipped:
        print(f"skipped: {s['section']}: {s['what']}: {s['why']}")
    for s in report.failed:
        print(f"FAILED: {s['section']}: {s['error']}")


def details_path(json_path):
    """Where the run's details (meta, raw rounds, skips) go beside the figures' JSON."""
    stem, _ext = os.path.splitext(json_path)
    return stem + ".details.json"


def write(report, meta, json_path):
    """The figures as a JSON list at json_path; meta, skips and raw data beside it.
    Returns the details' path."""
    folder = os.path.dirname(os.path.abspath(json_path))
    os.makedirs(folder, exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(plain(report.figures), f, indent=2)
    details = details_path(json_path)
    with open(details, "w") as f:
        json.dump(plain({"meta": meta, "skipped": report.skipped, "failed": report.failed,
                         "warnings": report.warnings, "sections": report.sections}), f,
                  indent=2)
    return details
