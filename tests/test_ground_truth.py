"""Labels held against what OpenVINO computed: real BATCH:CPU(N) runs of a model whose output
names the requests each one ran with (see ground_truth.py). No label may be wrong; how many
are unknown is measured by ground_truth.py run by hand, not asserted here."""

import pytest
from ground_truth import CASES, Case, busy, compare, compile_case, label_with, run_case, \
    truth_of

from ovsched.derive import batching, labels


def _case(name):
    return next(c for c in CASES if c.name == name)


def test_a_first_input_without_a_batch_axis_still_batches():
    case = _case("multi-input, poisson 3 ms")
    info, warning = batching.batching_info(compile_case(case), "BATCH:CPU(4)", {})
    assert warning is None
    assert info["batching"] is True and info["batch_size"] == 4


def test_batch_1_asked_is_not_a_fall_back():
    info, warning = batching.batching_info(compile_case(Case("b1", batch=1)), "BATCH:CPU(1)",
                                           {})
    assert warning is None
    assert info["batching"] is False and info["requested_batch_size"] == 1


def test_the_truth_model_names_the_members_of_each_batch():
    # a flood with a long timeout: every request runs in a batch of 4, dealt by worker
    record = run_case(Case("flood", arrival="fixed", interval_ms=0, timeout_ms=1000,
                           niter=16), profile=False)
    truth = truth_of(record)
    assert all(t[0] == labels.BATCHED and len(t[1]) == 4 for t in truth)
    slots = record["slot"]
    for i, t in enumerate(truth):  # the members are on slots of one worker
        assert {int(slots[m]) // 4 for m in t[1]} == {int(slots[i]) // 4}


CI_CASES = ["poisson 3 ms, timeout 10", "poisson 2 ms, timeout 15",
            "burst 4 every 30 ms, timeout 50", "burst 3 every 20 ms, timeout 5",
            "starved nireq 6, timeout 10", "multi-input, poisson 3 ms",
            "batch 2, poisson 4 ms, timeout 10", "fixed 1 ms, timeout 50"]


@pytest.mark.parametrize("load", [0, 2])
@pytest.mark.parametrize("name", CI_CASES)
def test_no_label_is_wrong_on_real_runs(name, load):
    case = _case(name)
    with busy(load):
        record = run_case(case, seed=load)
    assert not record["errors"]
    found = label_with(labels, record, profile_id=record["profile_id"],
                       compute_ms=record["compute_ms"], wake_late_ms=record["wake"])
    wrong, unknown, right = compare(found, record)
    assert wrong == [], what_was_wrong(wrong, found, record)
    assert right + unknown == len(record["slot"])


def what_was_wrong(wrong, found, record):
    """The records around each wrong label, as the labels saw them and as OpenVINO ran them:
    enough to replay the case by hand from a CI log."""
    truth = truth_of(record)
    lines = [f"wrong: {wrong}", f"allowance {found.allowance_ms} ms ({found.allowance_from}); "
             f"median {found.allowance_median_ms}; queue created "
             f"{record['queue_created_s']}; wake {record['wake']}",
             "notes: " + " | ".join(found.notes),
             "request slot submitted_s completed_s infer_ms label batch flush launch_s truth"]
    near = sorted({j for i, *_ in wrong for j in range(max(i - 6, 0),
                                                     min(i + 7, len(record['slot'])))})
    for j in near:
        lines.append(f"{j} {int(record['slot'][j])} {record['submitted_s'][j]:.6f} "
                     f"{record['completed_s'][j]:.6f} {record['infer_ms'][j]:.3f} "
                     f"{found.ran[j]} {int(found.batch[j])} {int(found.flush[j])} "
                     f"{found.launch_s[j] if found.launch_s is not None else None} "
                     f"{truth[j]}")
    return "\n".join(lines)
