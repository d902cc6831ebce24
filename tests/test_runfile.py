"""The run file format: typed summary, one reader for every earlier version, the run folder.

The fixtures under tests/fixtures/runs were saved by earlier versions of the tool (see the
README there): they must load, replot and compare, and say what they do not record."""

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest

from conftest import ROOT, headless_env

from ovsched.data import parts, runfile
from ovsched.data.folder import RunFolder, read_run
from ovsched.data.parts import FORMAT_VERSION, Batches, Summary
from ovsched.data.records import Run
from ovsched.errors import UsageError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "runs"
OLD = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
BEFORE_LABELS = [n for n in OLD if n.startswith("2026-11-24")]


def raw_summary(name):
    with open(FIXTURES / name / "summary.json", encoding="utf-8") as f:
        return json.load(f)


def test_there_are_fixtures_of_each_earlier_version():
    assert {n.rsplit("-", 3)[0] for n in OLD} >= {"2026-11-24", "2026-11-26"}
    assert any("timeline" in n for n in BEFORE_LABELS) and any("latency" in n for n in OLD)
    assert all("format_version" not in raw_summary(n) for n in OLD)  # written before versions


@pytest.mark.parametrize("name", OLD)
def test_an_earlier_run_loads_in_the_newest_shape(name):
    run = read_run(FIXTURES / name)
    s = run.summary
    raw = raw_summary(name)
    assert isinstance(s, Summary) and s.format_version == FORMAT_VERSION
    assert s.kind == raw["kind"] and s.settings == raw["settings"]
    assert len(run) == raw["stats"]["submitted"] == s.stats.submitted
    assert s.stats.latency_ms.median == raw["stats"]["latency_ms"]["median"]
    # one name per count: the batch count is ``count``, the batched requests
    # ``requests_batched``; the duplicates are gone
    assert s.batches.count == raw["batches"].get("count", raw["batches"].get("batches"))
    assert "batches" not in s.batches.extra and "batched" not in s.batches.extra
    if "batched" in raw["batches"]:
        assert s.batches.requests_batched == raw["batches"]["batched"]
    # every column the views read is there, whatever the version wrote
    for column in ("ran", "flush", "device_done", "queue_wait_ms", "batch"):
        assert len(run[column]) == len(run)
    assert s.arrival == raw.get("arrival", f"fixed, every {raw['settings']['interval']:g} ms")


@pytest.mark.parametrize("name", BEFORE_LABELS)
def test_what_a_run_before_labels_lacks_is_none_and_said(name):
    run = read_run(FIXTURES / name)
    s = run.summary
    assert s.machine is None and s.utilization is None and s.own_cpu is None
    assert s.model.format is None and s.stats.pacing_ms is None
    assert run.utilization is None
    # batch ids only: "batched" where one was given, no claim elsewhere
    batch = run["batch"]
    assert list(run["ran"]) == ["batched" if b >= 0 else "" for b in batch]
    assert (batch >= 0).any() == ("timeline" in name)
    # the wait for a slot was not recorded: unknown, so no request is said to have waited
    assert np.isnan(run["queue_wait_ms"]).all() and not run.waited_for_slot.any()
    assert "the machine" in s.lacks and "device utilization" in s.lacks
    assert "the wait for a queue slot and pacing" in s.lacks


def test_a_run_of_2026_11_26_lacks_only_what_came_later():
    run = read_run(FIXTURES / "2026-11-26-timeline-batch-cpu4")
    s = run.summary
    assert s.lacks == ["where each request's time went"] and s.breakdown is None
    assert s.machine.logical_cores and s.utilization.period_ms and run.utilization
    assert s.batches.count == 3 and s.batches.requests_batched == 12
    assert s.batches.batch_size == 4 and s.batching.batch_size == 4


def copy_fixture(name, tmp_path):
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def ovsched(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ovsched", *map(str, args)], cwd=cwd,
                          env=headless_env(MPLBACKEND="Agg", PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", OLD)
def test_an_earlier_run_replots_and_says_what_it_lacks(name, tmp_path):
    folder = copy_fixture(name, tmp_path)
    p = ovsched("replot", folder, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    kind = raw_summary(name)["kind"]
    assert (folder / f"{kind}-replot.png").stat().st_size > 0
    assert (folder / f"{kind}-replot-breakdown.png").stat().st_size > 0
    assert "saved by an earlier version" in p.stdout
    assert ("the machine" in p.stdout) == (name in BEFORE_LABELS)


@pytest.mark.parametrize("kind", ["timeline", "latency"])
def test_runs_of_every_version_compare(kind, tmp_path, tiny_model):
    folders = [copy_fixture(n, tmp_path) for n in OLD if kind in n]
    p = ovsched("compare", *folders, "--out", tmp_path / "c.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "c.png").stat().st_size > 0
    assert "machine unknown (saved before runs recorded it)" in p.stdout


def test_a_run_from_a_newer_version_is_refused_with_the_fix(tmp_path):
    folder = copy_fixture("2026-11-26-latency-auto", tmp_path)
    data = raw_summary("2026-11-26-latency-auto")
    data = {"format_version": FORMAT_VERSION + 1, **data}
    (folder / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(UsageError, match="newer ovsched.*update ovsched"):
        read_run(folder)
    p = ovsched("replot", folder, cwd=tmp_path)
    assert p.returncode == 2 and "update ovsched" in p.stderr and "Traceback" not in p.stderr


def small_run(**extra_columns):
    n = 4
    run = Run.from_arrays(np.arange(n) * 0.01, np.arange(n) * 0.01 + 0.001,
                          np.arange(n) * 0.01 + 0.005, np.arange(n) % 2, ["CPU"] * n,
                          np.full(n, 4.0), {"kind": "latency", "settings": {"interval": 10.0}})
    run.columns.update(extra_columns)
    return run


def test_a_new_summary_starts_with_format_version_and_reads_back_equal(tmp_path):
    run = small_run(launch_s=np.asarray([0.0005, 0.0105, math.nan, 0.0305]),
                    profile_id=np.asarray([1.0, 2.0, 3.0, 4.0]))
    run.summary.batches = Batches(count=2, requests_batched=4, notes=["a note"])
    run.summary.extra["future_part"] = {"a": [1, 2]}
    folder = RunFolder(tmp_path)
    folder.write(run, trace={"traceEvents": []})
    text = Path(folder.summary).read_text(encoding="utf-8")
    assert next(iter(json.loads(text))) == "format_version"
    assert json.loads(text)["format_version"] == FORMAT_VERSION
    assert json.loads(text)["future_part"] == {"a": [1, 2]}
    assert os.path.isfile(folder.trace) and not os.path.exists(folder.utilization)
    back = folder.read()
    assert back.summary == run.summary
    assert back.summary.lacks == []
    # numeric columns the reader does not know come back as numbers, NaN as NaN
    np.testing.assert_allclose(back["launch_s"], run["launch_s"], equal_nan=True)
    np.testing.assert_array_equal(back["profile_id"], [1, 2, 3, 4])
    assert [n for n in back.columns if n not in run.columns] == []


@dataclass
class Inner(parts.Part):
    value: Optional[float] = None
    name_: Optional[str] = field(default=None, metadata={"key": "name"})
    extra: dict = field(default_factory=dict)


@dataclass
class NewPart(parts.Part):
    items: Optional[List[Inner]] = None
    by_name: Optional[Dict[str, Inner]] = None
    one: Optional[Inner] = None
    plain: Optional[Dict[str, int]] = None
    extra: dict = field(default_factory=dict)


def test_a_new_part_needs_no_code_of_its_own_to_round_trip():
    part = NewPart(items=[Inner(1.5, "a"), Inner(None, "b")], by_name={"x": Inner(2.0)},
                   one=Inner(name_="c"), plain={"k": 3})
    data = runfile.to_json(part)
    assert data["items"][0] == {"value": 1.5, "name": "a"}
    assert data["one"] == {"value": None, "name": "c"}
    assert json.loads(json.dumps(data)) == data
    assert runfile.from_json(NewPart, data) == part
    assert runfile.from_json(Optional[NewPart], None) is None
    # a key this code does not know is kept and written back
    data["items"][0]["later"] = True
    again = runfile.from_json(NewPart, data)
    assert again.items[0].extra == {"later": True}
    assert runfile.to_json(again)["items"][0]["later"] is True
    assert runfile.to_json({"f": float("nan"), "n": np.int64(3)}) == {"f": None, "n": 3}


@pytest.mark.parametrize("count,chunk", [(0, 3), (1, 3), (6, 3), (7, 3), (50, 2000)])
def test_a_streamed_trace_is_the_same_json_as_the_whole_one(tmp_path, count, chunk):
    events = [{"name": f"request {i}", "ph": "X", "ts": i * 1.5, "args": {"ms": None}}
              for i in range(count)]
    whole = {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"device": "CPU"}}
    runfile.write_trace(dict(whole, traceEvents=iter(events)), tmp_path / "t.json", chunk=chunk)
    assert json.loads((tmp_path / "t.json").read_text()) == whole
    runfile.write_trace({"traceEvents": iter(events)}, tmp_path / "bare.json", chunk=chunk)
    assert json.loads((tmp_path / "bare.json").read_text()) == {"traceEvents": events}


def test_explain_into_a_closed_pipe_ends_quietly(tmp_path):
    """``ovsched explain RUN | head``: the reader went away before anything was written."""
    folder = copy_fixture("2026-11-26-latency-auto", tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first write fails
    p = subprocess.Popen([sys.executable, "-m", "ovsched", "explain", str(folder)], cwd=ROOT,
                         stdout=write_end, stderr=subprocess.PIPE, text=True,
                         env=headless_env())
    os.close(write_end)
    stderr = p.communicate(timeout=120)[1]
    assert p.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
