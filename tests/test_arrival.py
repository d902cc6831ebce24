import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ovsched.run.arrival import describe, due_times_s, read_replay, resolve
from ovsched.run.settings import UsageError

BASE = {"arrival": "fixed", "niter": 40, "interval": 30.0, "seed": 0, "burst": 1}


def settings(**changes):
    return {**BASE, **changes}


def write(tmp_path, text, name="due.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_fixed_is_a_metronome_from_zero():
    due = due_times_s("fixed", 5, 30.0)
    assert due == pytest.approx([0.0, 0.03, 0.06, 0.09, 0.12])


def test_burst_groups_requests_at_each_interval():
    due = due_times_s("burst", 10, 100.0, burst=4)
    assert due == pytest.approx([0, 0, 0, 0, .1, .1, .1, .1, .2, .2])
    assert np.array_equal(due_times_s("burst", 7, 20.0, burst=1), due_times_s("fixed", 7, 20.0))


def test_poisson_gaps_have_the_mean_and_spread_of_an_exponential():
    # Exponential gaps: mean = interval, coefficient of variation 1, and a share e^-1 of
    # gaps longer than the mean. With 200 000 gaps the standard error of each estimate is
    # about 0.2 %; the 2 % tolerances are ~10 standard errors, and the seeds are fixed, so
    # the test is deterministic and fails only if the distribution is wrong.
    for seed in (0, 1, 2):
        gaps_ms = np.diff(due_times_s("poisson", 200_001, 30.0, seed=seed)) * 1e3
        assert gaps_ms.mean() == pytest.approx(30.0, rel=0.02)
        assert gaps_ms.std() / gaps_ms.mean() == pytest.approx(1.0, abs=0.02)
        assert np.mean(gaps_ms > 30.0) == pytest.approx(math.exp(-1), abs=0.01)
        assert gaps_ms.min() >= 0


def test_poisson_starts_at_zero_and_spans_niter_minus_one_gaps():
    due = due_times_s("poisson", 50, 10.0, seed=3)
    assert len(due) == 50 and due[0] == 0.0
    assert due[1] > 0  # the second request is not due at once like the first


def test_poisson_seed_reproduces_and_seeds_differ():
    a = due_times_s("poisson", 100, 30.0, seed=7)
    assert np.array_equal(a, due_times_s("poisson", 100, 30.0, seed=7))
    b = due_times_s("poisson", 100, 30.0, seed=8)
    assert not np.allclose(a[1:], b[1:])
    # a longer run with the same seed is the shorter one continued
    assert np.array_equal(due_times_s("poisson", 300, 30.0, seed=7)[:100], a)


@hsettings(max_examples=60, deadline=None)
@given(pattern=st.sampled_from(["fixed", "poisson", "burst"]),
       niter=st.integers(1, 300), interval_ms=st.floats(0, 1000),
       seed=st.integers(0, 2**32), burst=st.integers(1, 20))
def test_every_pattern_is_niter_non_decreasing_times_from_zero(pattern, niter, interval_ms,
                                                                seed, burst):
    due = due_times_s(pattern, niter, interval_ms, seed=seed, burst=burst)
    assert due.shape == (niter,) and due.dtype == np.float64
    assert due[0] == 0.0
    assert np.all(np.diff(due) >= 0) and np.all(np.isfinite(due))


def test_replay_text_with_comments_blank_lines_and_its_own_origin(tmp_path):
    path = write(tmp_path, "# recorded at the gate\n\n250\n250  # two together\n 300.5\n\n1e3\n")
    assert list(read_replay(path)) == [250.0, 250.0, 300.5, 1000.0]
    assert due_times_s(path, 4, 30.0) == pytest.approx([0.25, 0.25, 0.3005, 1.0])


def test_replay_csv_by_its_due_ms_column(tmp_path):
    text = '\ufeffclient,"due_ms",size\n# warm-up skipped\na,0,3\nb, 12.5 ,1\n\nc,40,2\n'
    path = write(tmp_path, text, "trace.csv")
    assert list(read_replay(path)) == [0.0, 12.5, 40.0]


@pytest.mark.parametrize("text, fragment", [
    ("0\n10\nten\n", "line 3: 'ten' is not a number of ms"),
    ("0\n1,000\n", "line 2: '1,000' is not a number of ms"),
    ("0\nnan\n", "line 2: 'nan' is not a number"),
    ("0\ninf\n", "line 2: 'inf' is not a number"),
    ("", "holds no due times"),
    ("# only a comment\n\n", "holds no due times"),
    ("0\n# x\n20\n10\n", "line 4: due time 10 ms comes before the one on line 3 (20 ms); sort"),
    ("5\n-1\n", "line 2: due time -1 ms is negative"),
    ("1700000000000\n1700000000030\n", "line 1: the first due time is 1.7e+12 ms, over an hour"),
    ("time,client\n1,a\n", "line 1: a CSV needs a due_ms column; its header has time, client"),
    ("due_ms\n", "has a due_ms header (line 1) but no rows"),
    ("a,due_ms\nx,1\ny\n", "line 3: no due_ms cell in 'y'"),
    ("a,due_ms\nx,1\ny,\n", "line 3: '' is not a number of ms; give each due_ms cell"),
    ("a,due_ms\nx,5\ny,2\n", "line 3: due time 2 ms comes before the one on line 2"),
])
def test_bad_replay_files_are_one_line_usage_errors(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as e:
        read_replay(path)
    message = str(e.value)
    assert fragment in message and "\n" not in message
    assert path in message


def test_missing_and_unreadable_replay_files(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(UsageError, match=r"replay file .*nope.txt not found"):
        read_replay(missing)
    with pytest.raises(UsageError, match="not found"):
        resolve(settings(arrival=missing))
    with pytest.raises(UsageError, match="is a folder"):
        read_replay(str(tmp_path))
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(UsageError, match="is not text"):
        read_replay(str(binary))


def test_resolve_replay_defaults_niter_to_the_file_and_says_interval_does_not_apply(tmp_path):
    path = write(tmp_path, "0\n10\n20\n35\n")
    due, notes = resolve(settings(arrival=path))
    assert due == pytest.approx([0, 0.01, 0.02, 0.035]) and notes == []
    due, notes = resolve(settings(arrival=path, niter=2), given={"niter", "interval"})
    assert due == pytest.approx([0, 0.01])
    assert len(notes) == 1 and "--interval does not apply" in notes[0] and path in notes[0]
    with pytest.raises(UsageError, match=r"--niter=5 is more than the 4 due times"):
        resolve(settings(arrival=path, niter=5), given={"niter"})


def test_resolve_patterns_and_their_notes():
    due, notes = resolve(settings(arrival="burst", burst=3, niter=6, interval=10.0))
    assert due == pytest.approx([0, 0, 0, 0.01, 0.01, 0.01]) and notes == []
    due, notes = resolve(settings(arrival="Poisson", seed=4), given={"seed"})
    assert np.array_equal(due, due_times_s("poisson", 40, 30.0, seed=4)) and notes == []
    _, notes = resolve(settings(seed=3, burst=2, input="zeros"), given={"seed", "burst"})
    assert notes == ["--seed applies to --arrival=poisson and --input=random; used by "
                     "neither here (fixed, input zeros)",
                     "--burst applies only to --arrival=burst; ignored for fixed"]
    # random input data is drawn with the seed: no note then
    _, notes = resolve(settings(seed=3, input="random"), given={"seed"})
    assert notes == []


@pytest.mark.parametrize("changes, fragment", [
    ({"arrival": "poison"}, ("--arrival='poison' is neither a pattern nor a file "
                             "(did you mean poisson?)")),
    ({"arrival": "bursty"}, "(did you mean burst?)"),
    ({"arrival": "zzz"}, "use fixed, poisson, burst, or the path"),
    ({"burst": 0}, "--burst=0: requests due together is a whole number, 1 or more"),
    ({"burst": 2.5}, "--burst=2.5"),
    ({"burst": True}, "--burst=True"),
    ({"seed": -1}, "--seed=-1: the seed is a whole number, 0 or more"),
    ({"seed": 1.5}, "--seed=1.5"),
    ({"arrival": "poisson", "interval": -5.0}, "--interval=-5.0"),
    ({"arrival": "poisson", "interval": math.nan}, "--interval=nan"),
])
def test_resolve_rejects_bad_settings(changes, fragment):
    with pytest.raises(UsageError) as e:
        resolve(settings(**changes))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_describe_names_the_pattern(tmp_path):
    assert describe(settings()) == "fixed, every 30 ms"
    assert describe(settings(arrival="poisson", seed=2, interval=12.5)) == \
        "poisson, mean 12.5 ms, seed 2"
    assert describe(settings(arrival="burst", burst=4)) == "burst of 4 every 30 ms"
    path = write(tmp_path, "0\n", "gate.txt")
    assert describe(settings(arrival=path)) == "replay of gate.txt"
