"""Findings about the AUTO device, from its ``EXECUTION_DEVICES`` readings (``switch.py``
says how AUTO reports its devices): it stayed on the CPU, it had no CPU phase (a cache
hit), it moved back to another device mid-run (runtime fallback), and the first
inference's cost on each device."""

import numpy as np

from .findings_base import Finding, Skip, fmt, request_ranges, summary_get
from .switch import DURING, HELPER, UNKNOWN, placed

FIRST_RATIO = 2.0  # a first inference slower than this times its device's median is noted
FIRST_EXTRA_MS = 5.0  # and slower by at least this much


def _is_auto(summary):
    device = str(summary_get(summary, "device") or summary_get(summary, "settings", "device")
                 or "")
    return device.startswith("AUTO")


def _real(name):
    """Whether a reading names an accelerator (any device but the CPU and AUTO's helper)."""
    return any(part.strip() not in ("CPU", HELPER) for part in name.split(","))


def check_all(run):
    summary = run.summary
    if not _is_auto(summary):
        return []
    readings = summary_get(summary, "device_readings")
    if not readings:
        why = Skip("no EXECUTION_DEVICES readings were recorded (a run saved before they "
                   "were kept)")
        return [(name, why) for name in ("auto_cpu_only", "auto_no_cpu_phase",
                                         "auto_fallback")] + [("auto_first_inference",
                                                               check_first(run))]
    return [("auto_cpu_only", check_cpu_only(run, readings)),
            ("auto_no_cpu_phase", check_no_cpu_phase(run, readings)),
            ("auto_fallback", check_fallback(run, readings)),
            ("auto_first_inference", check_first(run))]


def _devices_of_machine(summary):
    devices = summary_get(summary, "machine", "devices")
    return sorted(devices) if isinstance(devices, dict) else None


def check_cpu_only(run, readings):
    names = [r["device"] for r in readings]
    if any(_real(n) for n in names):
        return None
    count = sum(int(r.get("readings", 0)) for r in readings)
    machine = _devices_of_machine(run.summary)
    device = summary_get(run.summary, "device") or "AUTO"
    text = (f"EXECUTION_DEVICES read {' then '.join(dict.fromkeys(names))} at all {count} "
            f"readings: no accelerator took over")
    if machine is not None:
        text += f"; this machine's devices: {', '.join(machine)}"
        accelerators = [d for d in machine if not d.startswith("CPU")]
        fix = ("--device=CPU runs the same without AUTO" if not accelerators else
               f"--device=AUTO:{accelerators[0]},CPU (the accelerator first)")
    else:
        fix = "--device=CPU runs the same without AUTO"
    return Finding("auto_cpu_only", "info", f"{device} stayed on the CPU (no accelerator)",
                   text, fix, "", {"readings": count, "devices": names,
                                   "machine_devices": machine}, impact_ms=None)


def check_no_cpu_phase(run, readings):
    first = readings[0]["device"]
    if not _real(first):
        return None
    props = summary_get(run.summary, "properties") or {}
    cache = props.get("CACHE_DIR")
    startup = str(props.get("ENABLE_STARTUP_FALLBACK", "")).upper()
    compile_s = summary_get(run.summary, "compile_s")
    text = (f"EXECUTION_DEVICES read {first} from the first reading "
            f"({fmt(readings[0]['first_s'], 3)} s): AUTO's CPU helper never ran a request, so "
            f"no switch from the CPU is to be expected (compile {fmt(compile_s, 2)} s)")
    if startup in ("NO", "FALSE"):
        return Finding("auto_no_cpu_phase", "info", "AUTO had no CPU phase: "
                       "ENABLE_STARTUP_FALLBACK is off", text,
                       "--ENABLE_STARTUP_FALLBACK=YES to see the CPU answer while the "
                       "accelerator compiles", "", {"first": first, "compile_s": compile_s})
    if cache:
        return Finding("auto_cache_hit", "info", "AUTO had no CPU phase: a cache hit "
                       f"(CACHE_DIR={cache})", text + f"; CACHE_DIR={cache} is set, from "
                       f"which AUTO loads a compiled blob at once",
                       "--CACHE_DIR= (an empty value) to see the CPU phase and the switch", "",
                       {"first": first, "compile_s": compile_s, "cache_dir": cache})
    return Finding("auto_no_cpu_phase", "info", "AUTO had no CPU phase", text + "; no "
                   "CACHE_DIR is set: the accelerator was ready before the first request",
                   "nothing to change: the accelerator answered from the first request", "",
                   {"first": first, "compile_s": compile_s})


def check_fallback(run, readings):
    """After an accelerator was read, a reading of another real device or the CPU: AUTO's
    runtime fallback (ENABLE_RUNTIME_FALLBACK) moves requests on when an inference fails.
    ``(CPU)`` read again after the accelerator is the helper still starting up
    (the accelerator compiled before the helper), not a fallback."""
    seen = None
    for k, r in enumerate(readings):
        name = r["device"]
        if _real(name):
            if seen is not None and name != readings[seen]["device"]:
                return _fallback(run, readings[seen], r)
            seen = k
        elif seen is not None and name != HELPER:
            return _fallback(run, readings[seen], r)
    return None


def _fallback(run, before, after):
    sub = run["submitted_s"]
    moved = np.flatnonzero(np.isfinite(sub) & (sub >= after["first_s"]))
    text = (f"EXECUTION_DEVICES read {before['device']} until {fmt(before['last_s'], 3)} s, "
            f"then {after['device']} from {fmt(after['first_s'], 3)} s "
            f"({after.get('readings', '?')} readings): the {moved.size} requests submitted "
            f"after that ran on {after['device']}")
    return Finding("auto_fallback", "warn", f"AUTO moved back from {before['device']} to "
                   f"{after['device']} mid-run (runtime fallback)", text,
                   f"--ENABLE_RUNTIME_FALLBACK=NO shows the error on {before['device']} "
                   f"instead of moving on", request_ranges(moved),
                   {"from": before["device"], "to": after["device"],
                    "at_s": after["first_s"], "requests": int(moved.size)}, impact_ms=None)


def check_first(run):
    """The first request on each device (placed, never one during the switch) against the
    median of the others there."""
    if "device" not in run.columns:
        return Skip("no device column")
    window = summary_get(run.summary, "device_switch_window")
    where = placed(run["device"], window, run["submitted_s"], run["completed_s"])
    lat = run["latency_ms"]
    done = run.done
    parts, affected, values, extra = [], [], {}, 0.0
    decided = [d for d in dict.fromkeys(where[done].tolist()) if d not in ("", DURING, UNKNOWN)]
    for device in decided:
        idx = np.flatnonzero(done & (where == device))
        if idx.size < 4:
            continue
        first, rest = lat[idx[0]], float(np.median(lat[idx[1:]]))
        if first > FIRST_RATIO * rest and first - rest >= FIRST_EXTRA_MS:
            parts.append(f"the first request on {device} (request {idx[0]}) took "
                         f"{fmt(first)} ms against a median of {fmt(rest)} ms for the next "
                         f"{idx.size - 1}")
            affected.append(int(idx[0]))
            values[device] = {"request": int(idx[0]), "first_ms": float(first),
                              "median_ms": rest}
            extra += float(first - rest)
    if not parts:
        return None
    return Finding("auto_first_inference", "info", "the first inference's cost",
                   "; ".join(parts), "send one warm-up request before the ones you time",
                   request_ranges(affected), values, impact_ms=extra)
