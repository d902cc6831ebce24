"""Which profiles read during a run are provably the request's own inference.

On the CPU, ``profiling_info`` reports the counters of the stream's graph: whatever ran
last on that stream. A profile read after another inference may have run (or started) on
the device is that inference's, or a mix. A request's profile is its own when no other
inference can have been on the device between the request's end and the reading:
no request ``j`` outside its group with ``submitted_j < read_i`` and ``completed_j >
end_i``. OpenVINO's end of request i lies after ``submitted_i + infer_ms_i`` (its clock
starts inside ``start_async``), so that bound is used: a request is flagged rather than
wrongly trusted. Pure functions of the records' columns.
"""

import numpy as np


def _inf(values):
    values = np.asarray(values, dtype=float).copy()
    values[np.isnan(values)] = np.inf
    return values


def _count(submitted, completed, lo, hi):
    """Per query k: how many intervals [submitted, completed] meet the window (lo_k, hi_k):
    all that start before hi, less those that ended by lo (each of which started before
    it)."""
    starts = np.sort(submitted)
    ends = np.sort(completed)
    return np.searchsorted(starts, hi, "left") - np.searchsorted(ends, lo, "right")


def others_in_window(submitted_s, completed_s, infer_ms, read_s, group):
    """Per request, how many requests outside its ``group`` (an int label per request;
    requests with the same label may share an inference) can have run on the device
    between its end and its profile's reading; -1 where nothing was read."""
    submitted = _inf(submitted_s)
    completed = _inf(completed_s)
    read = np.asarray(read_s, dtype=float)
    lo = submitted + np.asarray(infer_ms, dtype=float) / 1e3
    valid = ~np.isnan(read) & ~np.isnan(lo)
    result = np.full(len(read), -1, dtype=int)
    if not valid.any():
        return result
    total = _count(submitted, completed, lo[valid], read[valid])
    mine = np.zeros_like(total)
    group = np.asarray(group)
    idx = np.flatnonzero(valid)
    for g in np.unique(group[idx]):
        members = group == g
        queries = group[idx] == g
        mine[queries] = _count(submitted[members], completed[members], lo[idx[queries]],
                               read[idx[queries]])
    result[idx] = total - mine
    return result


def worker_groups(slot, batch_size):
    """Groups that need no label: a BATCH worker's slots (slot // batch), whose requests
    may run in one batched inference; otherwise every request alone."""
    slot = np.asarray(slot, dtype=int)
    if batch_size and batch_size > 1:
        return slot // batch_size
    return -1 - np.arange(len(slot))  # distinct from any worker number


def batch_groups(ran, batch):
    """Groups from the labels: the members of one batched inference; every other request
    alone."""
    ran = np.asarray(ran, dtype=object)
    batch = np.asarray(batch, dtype=int)
    alone = -1 - np.arange(len(ran))
    return np.where((ran == "batched") & (batch >= 0), batch, alone)


def attribute(c, batch_size):
    """``compute_ms``, ``profile_id`` and counts from the raw readings in columns ``c``
    (``profile_read_s``, ``profile_sum_ms``, ``profile_key``).

    ``profile_id`` needs no label: the profile is kept where nothing outside the request's
    batch worker can have run before the reading (so the labels' replay may use it as a
    witness); ``compute_ms`` also needs the labels: nothing outside its own batch."""
    read = np.asarray(c["profile_read_s"], dtype=float)
    total = np.asarray(c["profile_sum_ms"], dtype=float)
    key = np.asarray(c["profile_key"], dtype=int)
    args = (c["submitted_s"], c["completed_s"], c["infer_ms"], read)
    by_worker = others_in_window(*args, worker_groups(c["slot"], batch_size))
    n = len(read)
    ran = c.get("ran", np.full(n, "", dtype=object))
    batch = c.get("batch", np.full(n, -1, dtype=int))
    by_batch = others_in_window(*args, batch_groups(ran, batch))
    measured = ~np.isnan(total)
    profile_id = np.where(measured & (by_worker == 0), key, -1)
    own = measured & (by_batch == 0)
    compute = np.where(own, total, np.nan)
    # renumber the kept ids 0, 1, 2... in request order
    kept = profile_id >= 0
    _, first, inverse = np.unique(profile_id[kept], return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    profile_id[kept] = rank[inverse]
    return compute, profile_id, {"read": int(measured.sum()), "own": int(own.sum()),
                                 "not_own": int(np.sum(measured & ~own))}


def text(block, completed):
    """One line on whether compute was measured, from the summary's ``profile`` block."""
    if not block or not block.get("on"):
        why = (block or {}).get("why") or "the run was saved before profiles were read"
        return f"compute not measured ({why})"
    if block.get("own") is None:
        return "compute not measured (no profile was read)"
    said = (f"compute measured for {block['own']} of {completed} requests (profiles that are "
            f"provably their own inference's")
    if block.get("skipped"):
        said += (f"; {block['skipped']} not read: another request was in flight when it "
                 f"completed")
    if block.get("not_own"):
        said += (f"; {block['not_own']} were read after another inference may have run on "
                 f"the device, which overwrites the CPU's counters")
    said += ")"
    if block.get("errors"):
        said += f"; reading failed: {block['errors'][0]}"
    if block.get("gate_waits"):
        said += (f"; {block['gate_waits']} submit(s) waited {block['gate_wait_ms']['total']:.1f}"
                 f" ms in all for a profile to be read")
    return said
