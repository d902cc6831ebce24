"""``pip install .``: the wheel holds every module and the ``ovsched`` command, and the
installed command works from a folder outside the repository.

Offline: the wheel is built with the setuptools already installed (--no-build-isolation)
and installed from the local file (--no-index --no-deps), so no package index is asked.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, headless_env

setuptools = pytest.importorskip("setuptools", reason="pip install -r requirements-test.txt")
if tuple(int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2]) < (70, 1):
    pytest.skip("building a wheel without the wheel package needs setuptools>=70.1 "
                "(pip install -r requirements-test.txt)", allow_module_level=True)


def pip(*args, cwd):
    p = subprocess.run([sys.executable, "-m", "pip", *args, "--no-index",
                        "--disable-pip-version-check", "--no-input"], cwd=cwd,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def sources():
    """The package's files in the repository, as paths inside a wheel."""
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "ovsched").rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # a copy of what the build reads, so that its build/ and egg-info stay out of the repo
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "ovsched", src / "ovsched",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src), cwd=src)
    (built,) = dist.glob("ovsched-*.whl")
    return built


def test_the_wheel_holds_every_module_the_command_and_the_requirements(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = z.read(f"{info}/entry_points.txt").decode()
        metadata = z.read(f"{info}/METADATA").decode()
    assert sources() <= names, sorted(sources() - names)
    assert {n for n in names if n.startswith("ovsched/")} == sources()
    assert re.search(r"^\[console_scripts\]\s*^ovsched = ovsched\.__main__:console$",
                     entry_points, re.M), entry_points
    required = [line.split("#")[0].strip() for line in
                (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    assert sorted(re.findall(r"^Requires-Dist: (.+)$", metadata, re.M)) == \
        sorted(r for r in required if r)
    assert re.search(r"^Requires-Python: >=3\.10$", metadata, re.M)


def command(site):
    for folder in ("bin", "Scripts"):
        for name in ("ovsched", "ovsched.exe"):
            if (site / folder / name).is_file():
                return site / folder / name
    raise AssertionError(f"no ovsched command in {sorted(os.listdir(site))}")


def test_the_installed_command_works_from_any_folder(wheel, tmp_path, tiny_model, cache_dir):
    site = tmp_path / "site"
    pip("install", "--no-deps", "--target", str(site), str(wheel), cwd=tmp_path)
    ovsched = command(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the installed copy alone: the dependencies from this venv, the package from site
    env = headless_env(cache_dir, PYTHONPATH=str(site), MPLBACKEND="Agg")

    def run(*args):
        return subprocess.run([str(ovsched), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=600)

    where = subprocess.run([sys.executable, "-c", "import ovsched; print(ovsched.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    p = run("--help")
    assert p.returncode == 0, p.stderr
    for name in ("timeline", "latency", "replot", "compare", "sweep"):
        assert re.search(rf"^  {name} ", p.stdout, re.M), p.stdout
    assert p.stdout.startswith("usage: ovsched COMMAND")
    p = run("latency", f"--model={tiny_model}", "--device=CPU", "--niter=4", "--interval=0",
            "--show=False", "--out=run")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "run" / "records.csv").is_file()
    p = run("replot", "run")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "run" / "latency-replot.png").stat().st_size > 10_000
    p = run("sweep", "--help")
    assert p.returncode == 0 and "--batch=1,4,16" in p.stdout, p.stderr
    p = run("timeline", "--nitre=3")
    assert p.returncode == 2 and "unknown setting --nitre (did you mean niter?)" in p.stderr


def test_python_m_ovsched_dispatches_and_refuses_unknown_commands(capsys):
    from ovsched.__main__ import COMMANDS, main
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^  {name} ", out, re.M) for name in COMMANDS)
    assert main([]) == 2 and "error: give a command" in capsys.readouterr().err
    assert main(["replt", "x"]) == 2
    assert "unknown command 'replt' (did you mean replot?)" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["timeline", "latency"])
def test_the_experiment_commands_start_from_the_scripts_defaults(kind, tmp_path, tiny_model,
                                                                 monkeypatch, cache_dir):
    from ovsched.__main__ import main
    from ovsched.run import schema
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OVSCHED_CACHE", cache_dir)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    given = {"model": tiny_model, "device": "CPU", "niter": 3, "show": False, "out": "r"}
    assert main([kind, *(f"--{k}={v}" for k, v in given.items())]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    expected = dict(schema.defaults(kind), **given)
    assert {k: summary["settings"][k] for k in expected} == \
        dict(expected, out=summary["settings"]["out"])
    assert summary["kind"] == kind
