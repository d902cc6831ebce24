"""Bad input: exit code 2, one line naming the problem and the fix, no traceback."""

import shutil
import sys

import pytest

from conftest import LATENCY, TIMELINE, run_script


def broken_models(folder, tiny_model):
    """Paths of models that are wrong in each way a download can be."""
    paths = {}
    paths["missing"] = str(folder / "nope" / "model.xml")
    (folder / "adir").mkdir()
    shutil.copy(tiny_model, folder / "adir" / "inside.xml")
    paths["folder"] = str(folder / "adir")
    (folder / "empty.xml").write_text("")
    paths["empty"] = str(folder / "empty.xml")
    text = open(tiny_model).read()
    (folder / "cut.xml").write_text(text[: len(text) // 2])
    shutil.copy(tiny_model[:-4] + ".bin", folder / "cut.bin")
    paths["truncated"] = str(folder / "cut.xml")
    (folder / "notir.xml").write_text("<html><body>404 Not Found</body></html>")
    shutil.copy(tiny_model[:-4] + ".bin", folder / "notir.bin")
    paths["not_ir"] = str(folder / "notir.xml")
    shutil.copy(tiny_model, folder / "nobin.xml")
    paths["no_bin"] = str(folder / "nobin.xml")
    return paths


CASES = [
    # (name, args, model, fragment of the message)
    ("model missing", [], "missing", "model not found"),
    ("model is a folder", [], "folder", "is a folder: give the .xml file inside it (it holds inside.xml)"),
    ("model empty", [], "empty", "is an empty file"),
    ("model truncated", [], "truncated", "is not complete XML"),
    ("model not an IR", [], "not_ir", "is not an OpenVINO IR (its XML starts with <html>"),
    ("weights missing", [], "no_bin", "weights missing"),
    ("device unknown", ["--device=GPUU"], None, "unknown device 'GPUU' (did you mean GPU"),
    ("device mistyped", ["--device=cpu"], None, "unknown device 'cpu' (did you mean CPU?)"),
    ("no GPU", ["--device=GPU"], None, "device GPU is not available on this machine: its "
     "plugin cannot load (libOpenCL.so.1: cannot open shared object file); it needs an Intel "
     "GPU and its OpenCL driver"),
    ("no GPU under AUTO", ["--device=AUTO:GPU"], None, "device GPU is not available"),
    ("no GPU to batch", ["--device=BATCH:GPU(8)"], None, "try --device=CPU or --device=BATCH:CPU(8)"),
    ("batch of 0", ["--device=BATCH:CPU(0)"], None, "batch size must be a whole number >= 1"),
    ("batch of x", ["--device=BATCH:CPU(x)"], None, "batch size must be a whole number >= 1"),
    ("batch of nothing", ["--device=BATCH:"], None, "names no device after 'BATCH:'"),
    ("batch text after", ["--device=BATCH:CPU(8)x"], None, "write a batch size in brackets"),
    ("empty name in list", ["--device=MULTI:CPU,"], None, "has an empty name in its list"),
    ("interval infinite", ["--interval=1e400"], None, "give a number of milliseconds up to"),
    ("niter huge", ["--niter=1000000000"], None, "use at most 1,000,000 requests (~1.5 KB of memory each)"),
    ("hint FAST", ["--PERFORMANCE_HINT=FAST"], None, "--PERFORMANCE_HINT=FAST is not a valid value"),
    ("timeout abc", ["--device=AUTO", "--AUTO_BATCH_TIMEOUT=abc"], None,
     "--AUTO_BATCH_TIMEOUT=abc must be a whole number"),
    ("unknown property", ["--device=CPU", "--NO_SUCH_KEY=1"], None,
     "OpenVINO could not compile the model for CPU"),
    ("niter 0", ["--niter=0"], None, "--niter=0: the number of requests must be at least 1"),
    ("niter ten", ["--niter=ten"], None, "--niter takes an int"),
    ("interval -5", ["--interval=-5"], None, "--interval=-5.0: the interval"),
    ("nireq -1", ["--nireq=-1"], None, "--nireq=-1: the queue size"),
    ("nireq huge", ["--nireq=100000"], None, "use at most 1024"),
    ("no equals", ["--show"], None, "give it a value, e.g. --show=VALUE"),
    ("twice", ["--niter=3", "--niter=4"], None, "--niter given twice"),
    ("unknown setting", ["--iters=3"], None, "unknown setting --iters"),
    ("unknown preset", ["--preset=9.9"], None, "unknown preset '9.9'"),
]


@pytest.mark.parametrize("name, args, model, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, tiny_model, name, args, model, fragment):
    models = broken_models(tmp_path, tiny_model)
    model_arg = models[model] if model else tiny_model
    base = {"--niter": "3", "--interval": "0"}
    for arg in args:  # a case's own value of a base key replaces it
        base.pop(arg.split("=", 1)[0], None)
    argv = [f"{k}={v}" for k, v in base.items()] + args
    p = run_script(TIMELINE, f"--model={model_arg}", *argv, f"--out={tmp_path / 'out'}",
                   cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert "Traceback" not in p.stdout + p.stderr
    assert not (tmp_path / "out").exists()  # nothing written before the first request


def test_out_is_a_file(tmp_path, tiny_model):
    target = tmp_path / "afile"
    target.write_text("keep me")
    p = run_script(LATENCY, f"--model={tiny_model}", f"--out={target}", cwd=tmp_path)
    assert p.returncode == 2
    assert "is a file" in p.stderr
    assert target.read_text() == "keep me"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows ignores a folder's read-only "
                    "mode; test_portability imitates its always-yes os.access instead")
def test_out_not_writable(tmp_path, tiny_model):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        (locked / "probe").write_text("")
    except OSError:
        pass
    else:  # root with CAP_DAC_OVERRIDE ignores the mode
        pytest.skip("this process can write into a read-only folder (root); .ci/run runs "
                    "this test again without that capability")
    p = run_script(LATENCY, f"--model={tiny_model}", f"--out={locked / 'x'}", cwd=tmp_path)
    assert p.returncode == 2
    assert "cannot write results under" in p.stderr


def test_the_default_path_given_explicitly_is_not_replaced_by_the_standin(tmp_path):
    p = run_script(TIMELINE, "--model=public/googlenet-v1-tf/FP16/googlenet-v1-tf.xml",
                   cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("error: model not found: public/googlenet-v1-tf")
