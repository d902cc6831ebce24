import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ovsched.run.settings import UsageError, apply_overrides, parse_value, split_args

DEFAULTS = {"model": "m.xml", "device": "CPU", "niter": 40, "interval": 30.0, "nireq": 0,
            "show": True, "out": ""}
PROPS = {"PERFORMANCE_HINT": "THROUGHPUT", "CACHE_DIR": "./cache"}


def parse(*argv):
    return apply_overrides(split_args(argv), DEFAULTS, PROPS)


def test_overrides_are_typed_like_their_defaults():
    s, p = parse("--niter=5", "--interval=12", "--show=False", "--device=BATCH:CPU(4)",
                 "--out=x y")
    assert (s["niter"], s["interval"], s["show"], s["device"], s["out"]) == \
        (5, 12.0, False, "BATCH:CPU(4)", "x y")
    assert isinstance(s["interval"], float)
    assert p == PROPS


def test_properties_are_text_and_empty_removes():
    s, p = parse("--AUTO_BATCH_TIMEOUT=100", "--CACHE_DIR=", "--PERFORMANCE_HINT=LATENCY")
    assert p == {"PERFORMANCE_HINT": "LATENCY", "AUTO_BATCH_TIMEOUT": "100"}
    assert s == DEFAULTS


@pytest.mark.parametrize("argv, fragment", [
    (["--niter=ten"], "--niter takes an int"),
    (["--niter=4.5"], "--niter takes an int"),
    (["--niter=True"], "--niter takes an int"),
    (["--interval=abc"], "--interval takes a float"),
    (["--show=maybe"], "--show takes True or False"),
    (["--nitre=5"], "unknown setting --nitre (did you mean niter?)"),
    (["--Niter=5"], "unknown key --Niter"),
    (["niter=5"], "start with two dashes, e.g. --niter=5"),
    (["--niter"], "give it a value, e.g. --niter=VALUE"),
    (["--a b=1"], "cannot read key 'a b'"),
    (["--niter=1", "--niter=2"], "--niter given twice"),
    (["--niter=__import__('os').system('true')"], "--niter takes an int"),
])
def test_bad_overrides_name_the_problem(argv, fragment):
    with pytest.raises(UsageError) as e:
        parse(*argv)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_setting_lists_the_valid_ones():
    with pytest.raises(UsageError) as e:
        parse("--colour=red")
    for key in DEFAULTS:
        assert key in str(e.value)


def test_bool_words():
    assert parse_value("show", "no", True) is False
    assert parse_value("show", "1", False) is True


@hsettings(max_examples=400, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=4))
def test_any_argument_gives_settings_or_a_clear_error(argv):
    try:
        s, p = parse(*argv)
    except UsageError as e:
        text = str(e)
        assert text and "\n" not in text and "Traceback" not in text
        return
    assert set(s) == set(DEFAULTS)
    for key, value in s.items():
        assert type(value) is type(DEFAULTS[key])
    assert all(isinstance(v, str) and v for v in p.values())


@hsettings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(DEFAULTS)), st.text(max_size=40))
def test_any_value_for_a_known_key(key, text):
    try:
        s, _ = parse(f"--{key}={text}")
    except UsageError as e:
        assert f"--{key}" in str(e) and "\n" not in str(e)
        return
    assert type(s[key]) is type(DEFAULTS[key])
