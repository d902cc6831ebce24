"""The README's map of the code names every module of ovsched/, under its folder."""

import re

from conftest import ROOT


def test_the_code_map_names_every_module_under_its_folder():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## The code\n", 1)[1].split("\n## ", 1)[0]
    mapped = set()
    for part in re.split(r"^### ", section, flags=re.M)[1:]:
        folder = re.match(r"`(ovsched/[\w/]*)`", part).group(1)
        for row in re.findall(r"^\| (`[^|]+) \|", part, re.M):
            mapped |= {folder + name for name in re.findall(r"`([\w.]+\.py)`", row)}
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "ovsched").rglob("*.py")
               if path.read_text(encoding="utf-8").strip()}  # an empty __init__ has no job
    assert modules - mapped == set(), "modules missing from the README's code map"
    assert mapped - modules == set(), "the README's code map names modules that do not exist"
