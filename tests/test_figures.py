"""docs/figures/make.py: every figure of the README can be drawn again, by name."""

import re
import subprocess
import sys

from conftest import ROOT, headless_env, read_summary, run_script, LATENCY

MAKE = ROOT / "docs" / "figures" / "make.py"


def make(*args, env=None):
    return subprocess.run([sys.executable, str(MAKE), *args], cwd=ROOT,
                          env=env or headless_env(), capture_output=True, text=True,
                          timeout=600)


def test_every_figure_in_docs_and_the_readme_has_a_recipe():
    p = make("--list")
    assert p.returncode == 0, p.stderr
    listed = set(re.findall(r"^(\S+)\.png$", p.stdout, re.M))
    on_disk = {path.stem for path in (ROOT / "docs" / "figures").glob("*.png")}
    readme = set(re.findall(r"docs/figures/([\w.-]+)\.png",
                            (ROOT / "README.md").read_text(encoding="utf-8")))
    readme = {name for name in readme if not name.endswith("-2")}  # compare's free name
    assert on_disk <= listed and readme <= listed, (on_disk - listed, readme - listed)
    assert "python auto-test.py --preset=1.3.2 --show=False" in p.stdout


def test_a_bad_name_is_one_line_and_exit_code_2():
    p = make("prset-1.3.1")
    assert p.returncode == 2
    assert p.stderr.strip() == p.stderr.strip().splitlines()[0]
    assert "no figure 'prset-1.3.1' (did you mean preset-1.3.1?)" in p.stderr


def test_a_preset_figure_is_drawn_from_a_fresh_run(tmp_path, cache_dir):
    into = tmp_path / "figures"
    into.mkdir()
    runs = tmp_path / "runs"
    p = make("preset-1.3.1", f"--into={into}", f"--runs={runs}", env=headless_env(cache_dir))
    assert p.returncode == 0, p.stderr
    assert [f.name for f in into.iterdir()] == ["preset-1.3.1.png"]
    assert (into / "preset-1.3.1.png").read_bytes() == (runs / "1.3.1" / "timeline.png").read_bytes()
    assert read_summary(runs / "1.3.1")["preset"] == "1.3.1"


def test_a_compare_figure_reuses_finished_runs(tmp_path, tiny_model):
    runs = tmp_path / "runs"
    for name, hint in (("1.2.3", "THROUGHPUT"), ("1.2.4", "LATENCY")):
        p = run_script(LATENCY, f"--model={tiny_model}", "--device=CPU", "--niter=5",
                       f"--PERFORMANCE_HINT={hint}", "--show=False", f"--out={runs / name}",
                       cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    into = tmp_path / "figures"
    into.mkdir()
    p = make("compare-hint", f"--into={into}", f"--runs={runs}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("reusing") == 2 and "ovsched compare" in p.stdout
    assert (into / "compare-hint.png").stat().st_size > 10_000
