"""compare: runs that share every setting are drawn as one band (median and range)."""

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from ovsched.__main__ import main
from ovsched.views.plots import plot_compare, same_settings
from ovsched.data.records import Run
from ovsched.data.runfile import write_csv, write_json


def latency_run(latency_ms, interval=30.0, out="x", niter=None):
    n = len(latency_ms)
    submitted = np.arange(n) * interval / 1e3
    completed = submitted + np.asarray(latency_ms) / 1e3
    summary = {"kind": "latency", "settings": {"device": "CPU", "interval": interval,
                                               "niter": niter or n, "out": out},
               "properties": {"PERFORMANCE_HINT": "LATENCY"},
               "stats": {"latency_ms": {"median": float(np.median(latency_ms))}}}
    return Run.from_arrays(submitted, submitted, completed, np.zeros(n), ["CPU"] * n,
                           np.asarray(latency_ms, dtype=float), summary)


def test_repeats_become_one_band_and_other_runs_stay_lines():
    a = latency_run([10, 12, 30, 11], out="a")
    b = latency_run([14, 10, 20], out="b", niter=4)  # stopped early: still a repeat
    c = latency_run([5, 5, 5, 5], interval=10.0)
    assert same_settings([a, c, b]) == [[0, 2], [1]]
    fig = plot_compare([a, c, b], names=["ra", "rc", "rb"])
    ax = fig.axes[0]
    bands = [p for p in ax.collections if isinstance(p, PolyCollection)]
    assert len(bands) == 1
    lines = {line.get_label(): line for line in ax.get_lines()}
    median = next(line for label, line in lines.items() if label.startswith("ra, rb:"))
    assert "(2 runs): median" in median.get_label()
    assert list(median.get_ydata()) == pytest.approx([12, 11, 25, 11])
    top = bands[0].get_paths()[0].vertices[:, 1]
    assert max(top) == pytest.approx(30) and min(top) == pytest.approx(10)
    assert any(label.startswith("rc: interval=10.0") for label in lines)


def save(run, folder):
    folder.mkdir()
    write_csv(run, str(folder / "records.csv"))
    write_json(run.summary, str(folder / "summary.json"))


def test_compare_says_which_runs_share_all_settings(tmp_path, capsys):
    save(latency_run([10, 12, 30]), tmp_path / "one")
    save(latency_run([11, 13, 25]), tmp_path / "two")
    save(latency_run([5, 5, 5], interval=10.0), tmp_path / "three")
    out = tmp_path / "c.png"
    assert main(["compare", str(tmp_path / "one"), str(tmp_path / "two"),
                 str(tmp_path / "three"), f"--out={out}"]) == 0
    text = capsys.readouterr().out
    assert "one, two share all settings: drawn as one band (median and range)" in text
    assert out.stat().st_size > 10_000
