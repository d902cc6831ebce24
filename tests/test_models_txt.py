"""models.txt names models Open Model Zoo knows, and the scripts' default path is where its
converter writes the first one. Checked against OMZ's own list, offline, where the tools are
installed (the 2024.6 CI leg installs openvino-dev, which has them)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from ovsched.run.settings import DEFAULT_MODEL

MODELS_TXT = ROOT / "models.txt"


def names():
    lines = MODELS_TXT.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def info_dumper():
    here = os.path.dirname(sys.executable)
    for name in ("omz_info_dumper", "omz_info_dumper.exe"):
        if os.path.isfile(os.path.join(here, name)):
            return os.path.join(here, name)
    return shutil.which("omz_info_dumper")


def test_default_model_is_where_the_converter_writes_the_listed_model():
    assert names(), "models.txt lists no model"
    first = names()[0]
    assert DEFAULT_MODEL == f"public/{first}/FP16/{first}.xml"


@pytest.mark.skipif(info_dumper() is None,
                    reason="omz_info_dumper not installed (openvino-dev, 2024.6 leg only)")
def test_every_name_is_in_open_model_zoo():
    p = subprocess.run([info_dumper(), "--list", str(MODELS_TXT)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    known = {entry["name"]: entry for entry in json.loads(p.stdout)}
    assert set(names()) == set(known)
    # the converter can produce the FP16 IR the scripts read
    for name in names():
        assert "FP16" in known[name]["precisions"]
