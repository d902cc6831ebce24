"""The settings schema against what repeats it: the scripts' blocks, the README's table,
--help, the checks and the sweep's defaults."""

import re
import runpy

import pytest

from conftest import ROOT
from ovsched import sweep
from ovsched.errors import UsageError
from ovsched.run import schema, settings
from ovsched.run.help import help_text

SCRIPTS = {kind: ROOT / name for kind, name in schema.SCRIPTS.items()}
LINE = re.compile(r"^([a-z_][a-z0-9_]*) = (.+?)  # (.+)$")
PROPERTY_LINE = re.compile(r"""^    "([A-Z0-9_]+)": .+?,  # (.+)$""")


def block(kind):
    """The setting lines and the active property lines of a script's settings block."""
    lines = SCRIPTS[kind].read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# ---- settings"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("# ----"))
    inside = lines[start + 1:end]
    setting_lines = [LINE.match(line) for line in inside if not line.startswith(("properties",
                                                                                   " ", "}"))]
    assert all(setting_lines), inside
    props = [PROPERTY_LINE.match(line) for line in inside if line.startswith("    \"")]
    assert all(props), inside
    return ([(m.group(1), m.group(3)) for m in setting_lines],
            [(m.group(1), m.group(2)) for m in props])


@pytest.mark.parametrize("kind", schema.KINDS)
def test_each_script_block_says_what_the_schema_declares(kind):
    lines, prop_lines = block(kind)
    assert [name for name, _ in lines] == [s.name for s in schema.SETTINGS]
    for name, comment in lines:
        assert comment == schema.BY_NAME[name].comment_for(kind), name
    namespace = runpy.run_path(str(SCRIPTS[kind]), run_name="script")
    for s in schema.SETTINGS:
        value = namespace[s.name]
        assert type(value) is s.type and value == s.default_for(kind), s.name
    assert namespace["properties"] == schema.properties(kind)
    assert prop_lines == [(p.name, p.comment) for p in schema.PROPERTIES[kind]]
    assert settings.script_settings(namespace) == schema.defaults(kind)


def test_the_readme_table_says_what_the_schema_declares():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == [schema.readme_row(s.name) for s in schema.SETTINGS]


def test_the_key_lists_come_from_the_schema():
    assert settings.RUN_KEYS == ("model", "device", "niter", "interval", "nireq", "show", "out")
    assert set(settings.RUN_KEYS) | set(settings.LATER_KEYS) == set(schema.BY_NAME)
    assert settings.LATER_KEYS["util_ms"] == 100.0 and settings.LATER_KEYS["input"] == "random"
    assert set(settings.WHOLE_NUMBERS) == {"niter", "nireq", "seed", "burst"}


def test_an_older_script_without_the_later_settings_gets_their_defaults():
    old = {k: v for k, v in schema.defaults("timeline").items() if k in settings.RUN_KEYS}
    s = settings.check_settings(dict(old))
    assert s == schema.defaults("timeline")


@pytest.mark.parametrize("key, value, fragment", [
    ("model", " ", "--model is empty"),
    ("device", "", "--device is empty"),
    ("niter", 0, "--niter=0: the number of requests must be at least 1"),
    ("niter", 2.5, "--niter=2.5: give a whole number"),
    ("interval", -1, "--interval=-1.0: the interval between requests"),
    ("interval", float("inf"), "--interval=inf: give a number of milliseconds"),
    ("nireq", -1, "--nireq=-1: the queue size must be 0"),
    ("nireq", schema.MAX_NIREQ + 1, "use at most 1024"),
    ("util_ms", -5, "--util_ms=-5.0: give the milliseconds between utilization samples"),
])
def test_the_schema_checks_refuse_bad_values(key, value, fragment):
    s = dict(schema.defaults("latency"), **{key: value})
    with pytest.raises(UsageError) as e:
        settings.check_settings(s)
    assert fragment in str(e.value)


def test_checks_give_each_setting_its_type():
    s = settings.check_settings(dict(schema.defaults("timeline"), interval=12, niter=8.0))
    assert s["interval"] == 12.0 and type(s["interval"]) is float
    assert s["niter"] == 8 and type(s["niter"]) is int


@pytest.mark.parametrize("kind", schema.KINDS)
def test_help_prints_the_schema_comments(kind, tmp_path):
    script = tmp_path / schema.SCRIPTS[kind]
    # a copy whose block has an extra property and its own comment beside a setting
    text = SCRIPTS[kind].read_text(encoding="utf-8")
    text = text.replace("niter = ", "niter = 7  # edited here\nniter_old = ", 1)
    text = text.replace("properties = {  #",
                        'properties = {\n    "NUM_STREAMS": "2",  # two at a time\n  #', 1)
    script.write_text(text, encoding="utf-8")
    defaults = schema.defaults(kind)
    props = dict(schema.properties(kind), NUM_STREAMS="2")
    out = help_text(str(script), kind, defaults, props, {}, "CPU", "2026.4", usage="ovsched x")
    assert out.startswith("usage: ovsched x [--key=value ...]")
    rows = {line.split()[0].strip('"'): line for line in out.splitlines()
            if line.startswith("  --") or line.startswith('  "--')}
    for s in schema.SETTINGS:
        row = next(r for w, r in rows.items() if w.startswith(f"--{s.name}="))
        assert row.rstrip().endswith(s.comment_for(kind)), row
    for p in schema.PROPERTIES[kind]:
        assert rows[f"--{p.name}={p.value}"].endswith(p.comment)
    assert rows["--NUM_STREAMS=2"].endswith("two at a time")


def test_the_sweep_starts_from_auto_test_in_this_folder(tmp_path):
    settings_, properties, source = sweep.script_defaults(str(tmp_path))
    assert (settings_, properties) == (schema.defaults("timeline"),
                                       schema.properties("timeline"))
    assert "as shipped" in source
    text = SCRIPTS["timeline"].read_text(encoding="utf-8")
    (tmp_path / "auto-test.py").write_text(text.replace("niter = 40", "niter = 77"),
                                           encoding="utf-8")
    settings_, properties, source = sweep.script_defaults(str(tmp_path))
    assert settings_["niter"] == 77 and str(tmp_path) in source
    assert properties == schema.properties("timeline")
    (tmp_path / "auto-test.py").write_text("niter = (\n", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        sweep.script_defaults(str(tmp_path))
    assert "cannot read the settings block of" in str(e.value) and "\n" not in str(e.value)
