"""Where each request's time went: the parts of its response time, from the records.

The response time a client sees is ``completed - due``. It is cut at the stamps the run
took, so the parts add up to it exactly:

- ``client_ms``     = lateness - queue_wait: the submit came late, behind its schedule:
  the loop's own delay (``pacing_ms``) plus, under back-pressure, the waits of the requests
  before it (a request due while its predecessor waits for a slot cannot be submitted);
- ``queue_wait_ms`` (recorded): the submit waited for a free queue slot;
- ``batch_wait_ms`` = launch - submit: waiting in automatic batching for the batch to fill
  (``batched``) or for the timer (``timeout``); 0 where nothing batches (``single``). The
  launch is the labels' replay's, within its uncertainty, held inside the request's own
  submit-to-end interval (``launch_within``);
- ``device_ms``     = infer_ms - batch_wait: in the device, waiting for a free stream included;
- ``callback_ms``   = latency - infer_ms: from OpenVINO's end of the request to the tool's
  completion stamp.

``infer_ms`` is OpenVINO's own latency of the request (from inside ``start_async`` to its
callback). Where the label is ``unknown`` or no launch time exists, batch wait and device
are blank and ``infer_ms`` stands in their place. ``compute_ms`` (the sum of the
operations' times, with profiling) is information beside the sum, not a part of it.

Everything here is a pure function of the records' columns: a saved run gives the same
answers without OpenVINO.
"""

import math
from types import SimpleNamespace

import numpy as np

from . import analysis

# How far the parts may miss their sum, or fall below 0: the CSV keeps microseconds.
TOLERANCE_MS = 0.002
PARTS = ("client_ms", "queue_wait_ms", "batch_wait_ms", "device_ms", "callback_ms")
# The breakdown's columns in records.csv, in this order.
COLUMNS = PARTS + ("compute_ms", "profile_id")
NAMES = {"client_ms": "client", "queue_wait_ms": "queue wait", "batch_wait_ms": "batch wait",
         "device_ms": "device", "callback_ms": "callback",
         "infer_ms": "inference (batch wait + device, not split)",
         "lateness_ms": "late submit (client + queue wait, not split)"}
RANKS = (("median", 50.0), ("p90", 90.0), ("p99", 99.0), ("slowest", 100.0))
LAUNCHED = ("batched", "timeout")


def _column(c, name, n):
    value = c.get(name)
    if value is None:
        return np.full(n, np.nan)
    return np.asarray(value, dtype=float)


def response_ms(c):
    """``completed - due`` in ms for every request (NaN where it never completed)."""
    return (np.asarray(c["completed_s"], dtype=float)
            - np.asarray(c["scheduled_s"], dtype=float)) * 1e3


def parts(c):
    """The five parts (ms arrays, NaN where unknown) of every request, from columns ``c``.

    Needs ``scheduled_s``, ``submitted_s``, ``completed_s``, ``queue_wait_ms``,
    ``infer_ms``; ``ran`` and ``launch_s`` (when the labels' replay gave them) decide the
    batch wait."""
    n = len(c["submitted_s"])
    submitted = np.asarray(c["submitted_s"], dtype=float)
    lateness = (submitted - np.asarray(c["scheduled_s"], dtype=float)) * 1e3
    latency = (np.asarray(c["completed_s"], dtype=float) - submitted) * 1e3
    queue_wait = _column(c, "queue_wait_ms", n)
    infer = _column(c, "infer_ms", n)
    ran = np.asarray(c["ran"], dtype=object) if "ran" in c else np.full(n, "", dtype=object)
    launch = launch_within(c, submitted, infer)
    batch_wait = np.full(n, np.nan)
    batch_wait[ran == "single"] = 0.0
    launched = np.isin(ran, LAUNCHED)
    batch_wait[launched] = (launch[launched] - submitted[launched]) * 1e3
    done = ~np.isnan(latency)
    return {"client_ms": lateness - queue_wait,
            "queue_wait_ms": queue_wait,
            "batch_wait_ms": np.where(done, batch_wait, np.nan),
            "device_ms": np.where(done, infer - batch_wait, np.nan),
            "callback_ms": latency - infer}


def launch_within(c, submitted_s, infer_ms):
    """Each request's launch, from the labels' replay (``launch_s`` ± ``launch_err_ms``),
    held to what the request's own record proves: its batch launched after its submit and
    before OpenVINO's end of it (its clock starts inside ``start_async``, after the submit
    stamp, so ``submitted_s + infer_ms`` is the earliest that end can be). Where the
    replay's interval and the record overlap, the middle of the overlap; where they do not,
    NaN (``launch_conflicts`` counts them)."""
    n = len(submitted_s)
    launch = _column(c, "launch_s", n)
    err_s = np.nan_to_num(_column(c, "launch_err_ms", n), nan=0.0) / 1e3
    lo = np.maximum(launch - err_s, submitted_s)
    hi = np.minimum(launch + err_s, submitted_s + infer_ms / 1e3)
    return np.where(lo <= hi, (lo + hi) / 2, np.nan)


def launch_conflicts(c):
    """How many requests have a launch from the replay that their own record rules out."""
    submitted = np.asarray(c["submitted_s"], dtype=float)
    infer = _column(c, "infer_ms", len(submitted))
    given = ~np.isnan(_column(c, "launch_s", len(submitted)))
    return int(np.sum(given & np.isnan(launch_within(c, submitted, infer))))


def notes(c, p=None):
    """Why parts are blank, one line per cause (empty when every completed request is split)."""
    p = parts(c) if p is None else p
    n = len(c["submitted_s"])
    done = ~np.isnan(np.asarray(c["completed_s"], dtype=float))
    ran = np.asarray(c["ran"], dtype=object) if "ran" in c else np.full(n, "", dtype=object)
    said = []
    wait = _column(c, "queue_wait_ms", n)
    submitted = ~np.isnan(np.asarray(c["submitted_s"], dtype=float))
    if submitted.any() and np.isnan(wait[submitted]).all():
        said.append("client and queue wait unknown: the run was saved before the wait for a "
                    "free slot was recorded")
    if done.any() and np.all(ran[done] == ""):
        said.append("batch wait and device unknown: the run was saved before requests were "
                    "labelled")
    unknown = int(np.sum(done & (ran == "unknown")))
    if unknown:
        said.append(f"batch wait and device unknown for {unknown} request(s) labelled "
                    f"unknown (see the batch notes): infer_ms stands in their place")
    conflicts = launch_conflicts(c)
    if conflicts:
        said.append(f"batch wait and device unknown for {conflicts} request(s): the replay "
                    f"places their launch outside their own submit-to-end interval")
    blank = done & np.isin(ran, LAUNCHED) & np.isnan(p["batch_wait_ms"]) & np.isnan(
        _column(c, "launch_s", n))
    if blank.any():
        said.append(f"batch wait and device unknown for {int(blank.sum())} batched or "
                    f"timeout request(s): the run has no launch times of its batches "
                    f"(launch_s); infer_ms stands in their place")
    return said


def sum_errors_ms(c, p=None):
    """Per request, sum of the parts minus ``completed - due`` (NaN where a part is blank)."""
    p = parts(c) if p is None else p
    return sum(p[k] for k in PARTS) - response_ms(c)


def rank_index(response, q):
    """The request at nearest rank ``q`` (percent) of the responses; ties by request order.
    None when nothing completed."""
    order = np.flatnonzero(~np.isnan(response))
    if order.size == 0:
        return None
    order = order[np.argsort(response[order], kind="stable")]
    k = max(1, math.ceil(q / 100.0 * order.size))
    return int(order[k - 1])


def _entry(label, i, c, p, response):
    total = float(response[i])
    values = {k: float(p[k][i]) for k in PARTS}
    split = not math.isnan(values["batch_wait_ms"])
    shown = dict(values)
    if not split:  # the device's time is known only as a whole
        del shown["batch_wait_ms"], shown["device_ms"]
        shown["infer_ms"] = float(c["infer_ms"][i]) if "infer_ms" in c else math.nan
    if math.isnan(values["queue_wait_ms"]):  # saved before the wait was recorded
        del shown["client_ms"], shown["queue_wait_ms"]
        shown["lateness_ms"] = (float(c["submitted_s"][i]) - float(c["scheduled_s"][i])) * 1e3
    shares = {k: (v / total if total > 0 and not math.isnan(v) else None)
              for k, v in shown.items()}
    compute = c.get("compute_ms")
    pacing = own_delay_ms(c)
    return {"rank": label, "request": int(c["request"][i]) if "request" in c else i,
            "response_ms": total, "ran": str(c["ran"][i]) if "ran" in c else "",
            "parts_ms": {k: (None if math.isnan(v) else v) for k, v in shown.items()},
            "shares": shares, "split": split,
            "pacing_ms": None if pacing is None or math.isnan(pacing[i]) else float(pacing[i]),
            "compute_ms": (None if compute is None or math.isnan(float(compute[i]))
                           else float(compute[i]))}


def own_delay_ms(c):
    """The submit loop's own delay per request (analysis.pacing_ms): the part of
    ``client_ms`` that earlier requests' waits do not explain. None before waits were
    recorded."""
    if "queue_wait_ms" not in c:
        return None
    return analysis.pacing_ms(SimpleNamespace(columns=c))


def summarize(c):
    """The ``breakdown`` block of summary.json: the requests at the median, p90 and p99 rank
    of ``completed - due`` and the slowest, each part in ms and as a share of it."""
    p = parts(c)
    response = response_ms(c)
    entries = []
    for label, q in RANKS:
        i = rank_index(response, q)
        if i is not None:
            entries.append(_entry(label, i, c, p, response))
    errors = sum_errors_ms(c, p)
    known = ~np.isnan(errors)
    return {"requests": entries,
            "split": int(known.sum()),
            "completed": int(np.sum(~np.isnan(response))),
            "max_sum_error_ms": float(np.abs(errors[known]).max()) if known.any() else None,
            "notes": notes(c, p)}


def line(entry):
    """One entry as a sentence, e.g. "p99 response 1202 ms (request 187) = 83 % batch wait
    + 12 % device + 5 % queue wait" (parts under half a percent left out)."""
    shares = [(v, k) for k, v in entry["shares"].items() if v is not None and v >= 0.005]
    shares.sort(key=lambda s: -s[0])
    said = " + ".join(f"{v * 100:.0f} % {NAMES[k]}" for v, k in shares) or \
        "parts unknown (see the notes)"
    return (f"{entry['rank']} response {entry['response_ms']:.0f} ms "
            f"(request {entry['request']}) = {said}")
