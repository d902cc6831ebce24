"""``python -m ovsched explain RUN``: where a saved run's time went and what to change, from
its files alone (no OpenVINO, no device).

A run saved with findings prints the ones it saved (the objects the terminal and the figure
showed); an older run gets them derived now from what it recorded, and each check its data
cannot decide is named with the reason.
"""

from ..derive import breakdown, findings
from ..data.parts import Breakdown
from ..data.runfile import from_json
from ..derive.findings_base import Finding, Skip, fmt


def breakdown_lines(run):
    """The breakdown of the requests at the median, p90, p99 rank and the slowest."""
    c = run.columns
    if "scheduled_s" not in c or "completed_s" not in c:
        return ["breakdown: unknown (the run has no due or completion times)"]
    block = run.summary.breakdown
    derived = ""
    if block is None:
        block = from_json(Breakdown, breakdown.summarize(_with_parts(c)))
        derived = " (derived now: this run was saved before the breakdown was kept)"
    entries = block.requests or []
    if not entries:
        return ["breakdown: no request completed"]
    out = [f"where the time went{derived}: completed - due, cut at the run's stamps"]
    for entry in entries:
        out.append(f"  {breakdown.line(entry)}")
    for note in block.notes or []:
        out.append(f"  note: {note}")
    return out


def _with_parts(c):
    c = dict(c)
    for name, values in breakdown.parts(c).items():
        c.setdefault(name, values)
    return c


def findings_lines(run):
    """Every finding of the run, ranked, then the checks that could not decide and why."""
    saved = run.summary.findings
    checked = findings.check_all(run)
    if saved is None:
        found = findings.find(run)
        head = "findings (derived now: this run was saved before findings were kept)"
    else:
        found = [Finding.from_dict(d) for d in saved]
        head = "findings"
    out = [f"{head}: {len(found) or 'none'}"]
    for k, f in enumerate(found, 1):
        lines = f.lines()
        out.append(f"{k}. {lines[0]}")
        out += [f"  {line}" for line in lines[1:]]
        if f.impact_ms is not None:
            out.append(f"      accounts for {fmt(f.impact_ms, 0)} ms of this run")
    clear = [name for name, r in checked if r is None]
    if clear:
        out.append(f"checked, nothing found: {', '.join(clear)}")
    skipped = [(name, r.reason) for name, r in checked if isinstance(r, Skip)]
    if skipped:
        out.append("not checked (the run's data cannot decide):")
        out += [f"  {name}: {reason}" for name, reason in skipped]
    return out


def explain_lines(run, folder):
    s = run.summary
    head = (f"run {folder}: {s.script or '?'}, device "
            f"{s.device or s.setting('device', '?')}, "
            f"{len(run)} requests")
    return [head, *breakdown_lines(run), "", *findings_lines(run)]
