import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ovsched.run import standin# noqa: E402

TIMELINE = ROOT / "auto-test.py"
LATENCY = ROOT / "auto-test-latency-graph.py"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny IR with a free batch dimension, built once for the whole test session."""
    path = tmp_path_factory.mktemp("model") / "tiny.xml"
    standin.save_fp16(standin.build_tiny(seed=1), str(path))
    return str(path)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """Where the tests' runs keep the googlenet stand-in, shared by the whole session."""
    return str(tmp_path_factory.mktemp("cache"))


def headless_env(cache_dir=None, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONUNBUFFERED"] = "1"
    if cache_dir:
        env["OVSCHED_CACHE"] = cache_dir
    env.update(extra)
    return env


def run_script(script, *args, cwd, env=None, timeout=300):
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd,
                          env=env or headless_env(), capture_output=True, text=True,
                          timeout=timeout)


def read_records(folder):
    with open(Path(folder) / "records.csv", newline="") as f:
        return list(csv.DictReader(f))


def read_summary(folder):
    with open(Path(folder) / "summary.json") as f:
        return json.load(f)
