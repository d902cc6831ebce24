"""The one public run function, called in-process as a program (and the sweep) would."""

import os

import numpy as np
import pytest

from ovsched.data.runfile import to_json
from ovsched.errors import UsageError
from ovsched.run.experiment import run_experiment


def settings(model, out, **extra):
    base = {"model": model, "device": "BATCH:CPU(2)", "niter": 8, "interval": 2.0, "nireq": 4,
            "show": False, "out": str(out)}
    base.update(extra)
    return base


def test_runs_silently_and_returns_records_and_summary(tmp_path, tiny_model, capsys):
    result = run_experiment(settings(tiny_model, tmp_path / "o"), {}, kind="timeline")
    assert capsys.readouterr() == ("", "")  # no printing unless asked
    run = result.run
    assert len(run) == 8 and run.done.all()
    # latency and lateness are derived from the recorded times, in one place
    assert np.allclose(run["latency_ms"], (run["completed_s"] - run["submitted_s"]) * 1e3)
    assert np.allclose(run["lateness_ms"], (run["submitted_s"] - run["scheduled_s"]) * 1e3)
    assert np.allclose(run["scheduled_s"], np.arange(8) * 0.002)
    assert run.summary.stats.count == 8
    assert run.summary.batching.batch_size == 2
    # the queue was made before the first request was due, on the same clock
    assert run.summary.queue_created_s < 0
    assert run.summary.compile_started_s < run.summary.queue_created_s
    own_cpu = to_json(run.summary.own_cpu)
    assert {k for k in own_cpu if own_cpu[k] is not None} >= {"submit_s", "callback_s",
                                                                "requests", "wall_s"}
    assert result.out == str(tmp_path / "o")
    for name in ("records.csv", "summary.json", "trace.json", "timeline.png"):
        assert os.path.isfile(os.path.join(result.out, name))
    assert result.figure_path.endswith("timeline.png") and result.view is None


def test_says_what_it_does_when_asked(tmp_path, tiny_model):
    lines = []
    run_experiment(settings(tiny_model, tmp_path / "o", device="CPU"), {}, kind="latency",
                   say=lambda *a, **k: lines.append(" ".join(map(str, a))))
    assert lines[0].startswith("OpenVINO ")
    assert any(line.startswith("results: ") for line in lines)


def test_bad_input_fails_before_anything_is_written(tmp_path, tiny_model):
    with pytest.raises(UsageError, match="the number of requests must be at least 1"):
        run_experiment(settings(tiny_model, tmp_path / "o", niter=0), {}, kind="timeline")
    with pytest.raises(UsageError, match="unknown device"):
        run_experiment(settings(tiny_model, tmp_path / "o", device="CPUX"), {},
                       kind="timeline")
    assert not (tmp_path / "o").exists()


def test_results_that_cannot_be_written_are_saved_elsewhere(tmp_path, tiny_model, monkeypatch):
    """A disk that fills up during the run: exit 1 naming where the results went instead."""
    from ovsched.data import runfile
    from ovsched.errors import RunError

    real = runfile.write_csv
    target = str(tmp_path / "o")

    def full_disk(run, path):
        if str(path).startswith(target):
            raise OSError(28, "No space left on device")
        real(run, path)

    monkeypatch.setattr(runfile, "write_csv", full_disk)
    with pytest.raises(RunError) as e:
        run_experiment(settings(tiny_model, target), {}, kind="timeline")
    text = str(e.value)
    assert "cannot write the results into" in text and "No space left on device" in text
    rescue = text.rsplit("they were saved in ", 1)[1].split(" instead")[0]
    assert os.path.isfile(os.path.join(rescue, "summary.json"))
    assert os.path.isfile(os.path.join(rescue, "records.csv"))
    assert e.value.run is not None and len(e.value.run) == 8
