"""The finding as data, and the small helpers the checks of ``findings`` and
``findings_auto`` share."""

import math
from dataclasses import dataclass

import numpy as np

from ..data.parts import Finding as FindingPart

SEVERITIES = ("warn", "info")


@dataclass
class Finding(FindingPart):
    """One finding as the checks make it: the summary's typed part (``data.parts.Finding``),
    its severity checked and its values made plain numbers when it is made."""

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        self.values = _plain(dict(self.values or {}))

    def to_dict(self):
        return {"id": self.id, "severity": self.severity, "title": self.title,
                "evidence": self.evidence, "fix": self.fix, "requests": self.requests,
                "values": _plain(self.values), "impact_ms": self.impact_ms}

    @classmethod
    def from_dict(cls, d):
        """From a dict or a saved part (both read by key)."""
        return cls(d["id"], d["severity"], d["title"], d.get("evidence", ""),
                   d.get("fix", ""), d.get("requests", ""), dict(d.get("values") or {}),
                   d.get("impact_ms"))

    def lines(self):
        """The finding for a terminal: title, evidence, fix, requests."""
        out = [f"[{self.severity}] {self.title}", f"    evidence: {self.evidence}",
               f"    try: {self.fix}"]
        if self.requests:
            out.append(f"    requests: {self.requests}")
        return out


@dataclass(frozen=True)
class Skip:
    """A check the run's data cannot decide, and why."""

    reason: str


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def median(values):
    """The median of the finite values, or None when there is none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def fmt(value, digits=1):
    """A number for a sentence; '?' when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "?"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    value = float(value)
    if value and abs(value) < 0.5 * 10 ** -digits:  # would read 0.0: two significant digits
        return f"{value:.2g}"
    return f"{value:.{digits}f}"


def request_ranges(values, limit=12):
    """Request numbers as ranges, "0-3, 8, 10-12"; past ``limit`` ranges, the rest counted."""
    values = sorted(int(v) for v in values)
    spans = []
    for v in values:
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:limit])
    if len(spans) > limit:
        rest = sum(b - a + 1 for a, b in spans[limit:])
        text += f" and {rest} more"
    return text


def summary_get(summary, *keys):
    """``summary[k1][k2]...`` or None where any step is missing (older runs lack keys)."""
    value = summary
    for key in keys:
        if value is None:
            return None
        # a dict, or a typed part of the summary, which reads by JSON key the same way
        value = value.get(key) if hasattr(value, "get") else getattr(value, key, None)
    return value


LACKS_LABELS = "exact batch labels"  # what the reader says a run saved before them lacks


def exact_ran(run):
    """The ``ran`` labels where they are the plugin's exact labels; None for a run saved
    before them (its reader fills ``ran`` from the old batch ids, which were a grouping by
    completion time, not the plugin's rules) or without them."""
    lacks = summary_get(run.summary, "lacks") or []
    if any(str(what).startswith(LACKS_LABELS) for what in lacks):
        return None
    return run.columns.get("ran")


def response_ms(run):
    """Per request, completed - due (ms): the response time a client sees; NaN if never
    completed."""
    return (run["completed_s"] - run["scheduled_s"]) * 1e3


def in_flight_at_submit(run):
    """Per request, how many requests were in flight just after it was submitted (itself
    included): submitted before it and not completed by then."""
    sub = np.asarray(run["submitted_s"], dtype=float)
    comp = np.asarray(run["completed_s"], dtype=float)
    comp = np.where(np.isnan(comp), np.inf, comp)
    order = np.argsort(sub, kind="stable")
    done_sorted = np.sort(comp)
    out = np.zeros(len(sub), dtype=int)
    for rank, i in enumerate(order):
        if not np.isfinite(sub[i]):
            continue
        finished = int(np.searchsorted(done_sorted, sub[i], side="right"))
        out[i] = rank + 1 - finished
    return out
