"""Right on Windows and macOS too: each platform's behaviour, imitated here where it differs.

Windows and macOS cannot be run on this machine, so their behaviour is imitated: a
monkeypatched ``sys.platform`` (only where the code under test reads it), fake OpenCV and
Win32/launchd answers, a ``time.sleep`` that oversleeps as Windows' timer tick does, an
``os.access`` that always says yes, an ``os.replace`` that refuses a mapped file, and the
whole suite collected with POSIX-only calls removed.
"""

import os
import re
import runpy
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types

import numpy as np
import pytest
from conftest import LATENCY, ROOT, TIMELINE, headless_env, read_summary, run_script

from ovsched.views import display, live
from ovsched.run import experiment, settings, standin
from ovsched.data import folder, records
from ovsched.run.devices import check_properties
from ovsched.run.presets import PRESETS
from ovsched.run.runner import STOP_CHECK_S, Runner
from ovsched.run.settings import UsageError
from ovsched.views.trace import trace

POSIX = os.name == "posix"
LINUX = sys.platform.startswith("linux")


def settings_for(model, out, **extra):
    base = {"model": model, "device": "CPU", "niter": 40, "interval": 20.0, "nireq": 16,
            "show": False, "out": str(out), "util_ms": 0.0}
    base.update(extra)
    return base


def most_in_flight(run):
    """The most requests in flight at any submit, from the records alone."""
    sub, comp = run["submitted_s"], run["completed_s"]
    return max(int(np.sum((sub[:i] <= sub[i]) & ~(comp[:i] <= sub[i]))) + 1
               for i in range(len(run)))


def due_row_shown(figure):
    return any(t.get_text() == "due" for ax in figure.axes for t in ax.get_yticklabels())


# ---------------------------------------------------------------- 1. pacing is not queueing

class FakeClock:
    """perf_counter and sleep for Runner._sleep_until: sleeping moves the clock on."""

    def __init__(self, oversleep_s=0.0):
        self.now = 0.0
        self.oversleep_s = oversleep_s
        self.sleeps = []

    def perf_counter(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s + self.oversleep_s


def bare_runner(stop):
    runner = Runner.__new__(Runner)
    runner.t0 = 0.0
    runner.stop = stop
    return runner


def test_sleep_until_sleeps_in_short_pieces_without_event_wait(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("ovsched.run.runner.time.perf_counter", clock.perf_counter)
    monkeypatch.setattr("ovsched.run.runner.time.sleep", clock.sleep)

    class NoWait:  # Event.wait ends on Windows' 15.6 ms tick: it must not be used
        def is_set(self):
            return False

        def wait(self, timeout=None):
            raise AssertionError("Event.wait used for pacing")

    assert bare_runner(NoWait())._sleep_until(0.33) is True
    assert clock.now == pytest.approx(0.33)
    assert max(clock.sleeps) <= STOP_CHECK_S <= 0.05
    assert len(clock.sleeps) == 7  # 6 pieces of 50 ms and the rest: no busy spin


def test_sleep_until_sees_a_stop_within_one_piece(monkeypatch):
    clock = FakeClock()
    stop = threading.Event()
    monkeypatch.setattr("ovsched.run.runner.time.perf_counter", clock.perf_counter)

    def sleep(s):
        clock.sleep(s)
        if len(clock.sleeps) == 3:
            stop.set()

    monkeypatch.setattr("ovsched.run.runner.time.sleep", sleep)
    assert bare_runner(stop)._sleep_until(3600.0) is False
    assert len(clock.sleeps) == 3


def test_late_wakeups_are_not_shown_as_waiting_for_a_slot(monkeypatch, tmp_path, tiny_model):
    """Windows ends a sleep up to a timer tick late: every submit is late, but the queue
    of 16 never fills, so no request waited for a slot."""
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: real_sleep(s + 0.010))
    monkeypatch.setattr(Runner, "_favour_this_thread", lambda self: "default")
    result = experiment.run_experiment(settings_for(tiny_model, tmp_path / "o"),
                                       {"PERFORMANCE_HINT": "LATENCY"}, kind="timeline")
    run = result.run
    assert run.late.sum() >= len(run) // 2  # the imitation worked: most submits were late
    assert most_in_flight(run) < 16  # and the queue was never full
    assert np.all(run["queue_wait_ms"] == 0)
    assert not run.waited_for_slot.any()
    assert not [e for e in trace(run)["traceEvents"] if e.get("cat") == "schedule"]
    assert not due_row_shown(result.figure)
    saved = folder.read_run(result.out)
    assert not saved.waited_for_slot.any()


def test_a_full_queue_is_shown_as_waiting_for_a_slot(tmp_path, tiny_model):
    """One slot and requests due all at once: each waits for the one before it, held
    20 ms by the batch timer."""
    s = settings_for(tiny_model, tmp_path / "o", device="BATCH:CPU(4)", niter=10,
                     interval=0.0, nireq=1)
    result = experiment.run_experiment(s, {"AUTO_BATCH_TIMEOUT": "20"}, kind="timeline")
    run = result.run
    assert run.waited_for_slot.sum() >= len(run) // 2
    assert np.all(run["queue_wait_ms"][run.waited_for_slot] > records.QUEUE_WAIT_MS)
    waits = [e for e in trace(run)["traceEvents"] if e.get("cat") == "schedule"]
    assert len(waits) == run.waited_for_slot.sum()
    assert due_row_shown(result.figure)


# ---------------------------------------------------------------- 2. an unwritable --out

def unwritable_target(tmp_path):
    """A folder that cannot be created here, even by root where possible."""
    if LINUX:
        return "/proc/ovsched-x"
    if getattr(os, "geteuid", lambda: -1)() == 0 or sys.platform == "win32":
        pytest.skip("needs Linux's /proc, or a user whom a read-only folder stops")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return str(locked / "x")


def load_script(path):
    return runpy.run_path(str(path), run_name="script")


@pytest.mark.skipif(not LINUX, reason="/proc is Linux's")
def test_out_under_proc_is_refused_before_the_run(tmp_path, tiny_model):
    p = run_script(LATENCY, f"--model={tiny_model}", "--niter=3", "--interval=0",
                   "--out=/proc/x", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert "cannot write results under /proc" in p.stderr and "--out=FOLDER" in p.stderr
    assert "Traceback" not in p.stderr and "submitting" not in p.stdout
    assert not os.path.exists("/proc/x")


def test_os_access_saying_yes_still_refuses_before_the_run(monkeypatch, capsys, tmp_path,
                                                            tiny_model):
    """Windows' os.access says yes for every folder: the probe file decides instead."""
    target = unwritable_target(tmp_path)
    monkeypatch.setattr(os, "access", lambda *a, **k: True)

    def must_not_load(*a, **k):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(experiment, "load_model", must_not_load)
    main = load_script(LATENCY)["main"]
    code = main([f"--model={tiny_model}", "--niter=3", "--interval=0", "--show=False",
                 f"--out={target}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: cannot write results under") and err.count("\n") == 1
    assert not os.path.exists(target)


def test_a_refused_run_leaves_no_folder_and_no_probe(tmp_path, tiny_model):
    before = sorted(os.listdir(tmp_path))
    p = run_script(LATENCY, f"--model={tiny_model}", "--device=GPUU", "--niter=3",
                   f"--out={tmp_path / 'new' / 'deep'}", cwd=tmp_path)
    assert p.returncode == 2
    assert sorted(os.listdir(tmp_path)) == before


# ---------------------------------------------------------------- 3. no interactive desktop

def fake_sys(platform):
    return types.SimpleNamespace(platform=platform)


@pytest.mark.parametrize("visible, env, expect", [
    (False, {}, "no interactive desktop"),
    (False, {"SSH_CONNECTION": "1 2 3 4"}, "no interactive desktop"),
    (True, {"SSH_CONNECTION": "1 2 3 4"}, ""),  # the window station decides when it can
    (None, {"SSH_CONNECTION": "1 2 3 4"}, "SSH session"),
    (None, {}, ""),
])
def test_windows_without_a_desktop(monkeypatch, visible, env, expect):
    monkeypatch.setattr(display, "window_station_visible", lambda: visible)
    why = display.reason(platform="win32", environ=env)
    assert (expect in why) if expect else why == ""


def test_window_station_off_windows_is_unknown_not_a_crash():
    if sys.platform == "win32":
        assert display.window_station_visible() in (True, False, None)
    else:
        assert display.window_station_visible() is None


@pytest.mark.parametrize("manager, env, expect", [
    ("Aqua", {"SSH_CONNECTION": "x"}, ""),
    ("Background", {"SSH_CONNECTION": "x"}, "SSH session"),
    ("StandardIO", {"SSH_TTY": "/dev/ttys001"}, "SSH session"),
    (None, {"SSH_TTY": "/dev/ttys001"}, "SSH session"),
    (None, {"SSH_TTY": "/dev/ttys001", "__CFBundleIdentifier": "com.apple.Terminal"}, ""),
])
def test_macos_ssh_without_a_gui_session(monkeypatch, manager, env, expect):
    monkeypatch.setattr(display, "launchctl_manager_name", lambda: manager)
    why = display.reason(platform="darwin", environ=env)
    assert (expect in why) if expect else why == ""


def test_macos_outside_ssh_does_not_ask_launchctl(monkeypatch):
    def never():
        raise AssertionError("launchctl asked outside SSH")

    monkeypatch.setattr(display, "launchctl_manager_name", never)
    assert display.reason(platform="darwin", environ={"TERM_PROGRAM": "Apple_Terminal"}) == ""


def test_a_windows_service_run_skips_the_window_and_saves_the_figure(monkeypatch, tmp_path,
                                                                      tiny_model):
    monkeypatch.setattr(display, "sys", fake_sys("win32"))
    monkeypatch.setattr(display, "window_station_visible", lambda: False)

    def no_window(*a, **k):
        raise AssertionError("a window was opened")

    monkeypatch.setattr(live, "make_view", no_window)
    said = []
    result = experiment.run_experiment(
        settings_for(tiny_model, tmp_path / "o", niter=5, interval=0.0, show=True), {},
        kind="latency", say=lambda text, **kw: said.append(text))
    assert result.view is None
    assert any(line.startswith("no display (no interactive desktop") for line in said)
    assert os.path.isfile(result.figure_path)


# ---------------------------------------------------------------- 4. console encoding

def test_output_a_code_page_cannot_encode_does_not_crash(tmp_path):
    cache = tmp_path / "кэш"
    env = headless_env(str(cache), PYTHONIOENCODING="cp1252")
    p = subprocess.run([sys.executable, str(LATENCY), "--niter=2", "--interval=0",
                        "--show=False", "--util_ms=0", f"--out={tmp_path / 'o'}"],
                       cwd=tmp_path, env=env, capture_output=True, timeout=600)
    stdout, stderr = p.stdout.decode("cp1252"), p.stderr.decode("cp1252")
    assert p.returncode == 0, stderr
    assert "UnicodeEncodeError" not in stderr
    # the stand-in's path is printed with an escape where cp1252 has no letter
    assert "\\u043a\\u044d\\u0448" in stdout
    assert (cache / "standin").is_dir()


# ---------------------------------------------------------------- 5. words that paste

def crt_unquote(word):
    """One command-line word as the Microsoft C runtime hands it to Python's argv."""
    out, quoted, i = [], False, 0
    while i < len(word):
        n = 0
        while i < len(word) and word[i] == "\\":
            n += 1
            i += 1
        if i < len(word) and word[i] == '"':
            out.append("\\" * (n // 2))
            if n % 2:
                out.append('"')
            else:
                quoted = not quoted
            i += 1
        else:
            out.append("\\" * n)
            if i < len(word):
                if word[i] == " " and not quoted:
                    raise AssertionError(f"{word!r} splits into two words in cmd.exe")
                out.append(word[i])
                i += 1
    return "".join(out)


def help_words(text):
    """The override word at the start of each setting or property row of --help."""
    words = []
    for line in text.splitlines():
        m = re.match(r'^  ("[^"]*"|--\S+)', line)
        if m:
            words.append(m.group(1))
    return words


@pytest.mark.parametrize("script", [TIMELINE, LATENCY], ids=["timeline", "latency"])
def test_help_prints_words_that_paste_into_every_shell(tmp_path, script):
    p = run_script(script, "--help", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    namespace = load_script(script)
    defaults = settings.script_settings(namespace)
    properties = namespace["properties"]
    words = help_words(p.stdout)
    assert len(words) == len(defaults) + len(properties)
    assert any(w.startswith('"') for w in words) == (script == TIMELINE)  # BATCH:CPU(8)
    for word in words:
        assert "'" not in word, word  # cmd.exe passes single quotes on to Python
        assert "$" not in word and "`" not in word, word  # PowerShell expands those
        for shell, unquoted in (("posix", shlex.split(word)),
                                ("cmd", [crt_unquote(word)])):
            assert len(unquoted) == 1, (shell, word)
            (key, text), = settings.split_args(unquoted)
            if settings.PROPERTY_KEY.fullmatch(key):
                assert text == str(properties[key]), (shell, word)
            else:
                assert settings.parse_value(key, text, defaults[key]) == defaults[key], \
                    (shell, word)


def test_crt_unquote_follows_the_runtime_rules():
    assert crt_unquote('"--device=BATCH:CPU(8)"') == "--device=BATCH:CPU(8)"
    assert crt_unquote('"a b"') == "a b"
    assert crt_unquote(r'a\\"b"') == "a\\b"
    assert crt_unquote(r'a\"b') == 'a"b'
    assert crt_unquote(r"C:\dir\x") == r"C:\dir\x"


# ---------------------------------------------------------------- 6. loads everywhere

IMITATE = """
import os, sys
import pytest
# third-party packages load under the real platform, as they would on the real one
import numpy, openvino, cv2, matplotlib, matplotlib.pyplot, psutil, hypothesis  # noqa
for name in ("geteuid", "getuid", "wait4", "waitid", "sched_setscheduler", "sched_param"):
    if hasattr(os, name):
        delattr(os, name)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # only while the project's modules are imported: pytest itself reads sys.platform
    real = sys.platform
    sys.platform = os.environ["IMITATED_PLATFORM"]
    try:
        yield
    finally:
        sys.platform = real
"""

IMPORT_ALL = """
import importlib, os, pkgutil, sys
sys.path.insert(0, os.getcwd())
import numpy, openvino, cv2, matplotlib, matplotlib.pyplot, psutil  # noqa
for name in ("geteuid", "getuid", "wait4", "waitid", "sched_setscheduler", "sched_param"):
    if hasattr(os, name):
        delattr(os, name)
sys.platform = sys.argv[1]
import ovsched, benchmarks
names = [m.name for pkg in (ovsched, benchmarks)
         for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(len(names), "modules")
"""


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_the_suite_collects_with_posix_calls_gone(tmp_path, platform):
    (tmp_path / "imitate.py").write_text(textwrap.dedent(IMITATE))
    env = headless_env(IMITATED_PLATFORM=platform,
                       PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "imitate", "--collect-only",
                        "-q", "-p", "no:cacheprovider", str(ROOT / "tests")], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert re.search(r"^\d+ tests collected", p.stdout, re.M), p.stdout[-2000:]
    assert "error" not in p.stdout.splitlines()[-1]


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_every_module_imports_with_posix_calls_gone(platform):
    p = subprocess.run([sys.executable, "-c", IMPORT_ALL, platform], cwd=ROOT,
                       env=headless_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip().endswith("modules")


# ---------------------------------------------------------------- 7. Ctrl+C, twice; stand-in

@pytest.mark.skipif(not POSIX, reason="sends SIGINT to a child process: Windows can only "
                                      "send CTRL_C_EVENT to a whole console group")
def test_a_second_ctrl_c_exits_at_once_saying_what_is_lost(tmp_path, tiny_model):
    """Two requests held by a 20 s batch timer: the first Ctrl+C waits for them, the second
    ends the process without them (had it been ignored, the run would end after the timer
    and write its results)."""
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, str(LATENCY), f"--model={tiny_model}", "--device=BATCH:CPU(4)",
         "--AUTO_BATCH_TIMEOUT=20000", "--nireq=2", "--niter=50", "--interval=0",
         "--show=False", "--util_ms=0", f"--out={out}"], cwd=tmp_path, env=headless_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("submitting"):
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "stopping: no new requests" in stderr
    assert "second Ctrl+C: exiting now; the requests in flight and this run's results are " \
           "not written" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_compiling_runs_off_the_main_thread_and_hands_back_its_result():
    seen = []

    def call():
        seen.append(threading.current_thread() is threading.main_thread())
        return 42

    assert experiment.on_own_thread(call) == 42
    assert seen == [False]  # the main thread stays free to see Ctrl+C

    def fails():
        raise UsageError("refused")

    with pytest.raises(UsageError, match="refused"):
        experiment.on_own_thread(fails)


def refuse_replacing(monkeypatch, path):
    """os.replace as Windows behaves while another process maps ``path``."""
    real = os.replace

    def replace(src, dst):
        if os.path.abspath(dst) == os.path.abspath(path):
            raise PermissionError(13, "The process cannot access the file because it is "
                                      "being used by another process", dst)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".save-")]


def test_a_standin_in_use_is_kept(monkeypatch, tmp_path):
    xml = tmp_path / "m" / "standin.xml"
    assert standin.save_fp16(standin.build_tiny(seed=1), xml) == str(xml)
    old = (xml.read_bytes(), xml.with_suffix(".bin").read_bytes())
    refuse_replacing(monkeypatch, xml.with_suffix(".bin"))
    assert standin.save_fp16(standin.build_tiny(seed=2), xml) == str(xml)
    assert (xml.read_bytes(), xml.with_suffix(".bin").read_bytes()) == old
    assert leftovers(xml.parent) == []


def test_a_new_standin_is_used_where_built_when_the_old_is_incomplete(monkeypatch, tmp_path):
    xml = tmp_path / "m" / "standin.xml"
    standin.save_fp16(standin.build_tiny(seed=1), xml)
    old_bin = xml.with_suffix(".bin").read_bytes()
    xml.unlink()  # a bin still mapped by another process, its xml gone
    refuse_replacing(monkeypatch, xml.with_suffix(".bin"))
    path = standin.save_fp16(standin.build_tiny(seed=2), xml)
    assert path != str(xml) and os.path.basename(os.path.dirname(path)).startswith(".built-")
    assert os.path.isfile(path) and os.path.isfile(path[:-4] + ".bin")
    assert open(path[:-4] + ".bin", "rb").read() != old_bin  # the new weights
    import openvino as ov
    assert ov.Core().read_model(path).get_friendly_name() == "tiny-standin"
    assert leftovers(xml.parent) == []


# ---------------------------------------------------------------- 8. a minimised window

class FakeCv:
    """The few cv2 functions the window checks use, answering as a platform's backend."""

    WND_PROP_VISIBLE, WND_PROP_FULLSCREEN = 4, 0

    class error(Exception):  # noqa: N801 - as cv2 names it
        pass

    def __init__(self, visible, fullscreen):
        self.answers = {self.WND_PROP_VISIBLE: visible, self.WND_PROP_FULLSCREEN: fullscreen}

    def getWindowProperty(self, name, prop):  # noqa: N802 - as cv2 names it
        answer = self.answers[prop]
        if answer == "gone":
            raise self.error("NULL window")
        return answer


@pytest.mark.parametrize("platform, visible, fullscreen, closed", [
    ("darwin", 0.0, 0.0, False),  # minimised: Cocoa says not visible, the window is there
    ("darwin", 0.0, "gone", True),  # closed: Cocoa no longer holds the window
    ("darwin", 0.0, -1.0, True),
    ("darwin", "gone", 0.0, True),
    ("darwin", 1.0, 0.0, False),
    ("linux", 0.0, 0.0, True),  # GTK/Qt/Win32 keep a minimised window visible
    ("win32", 0.0, 0.0, True),
    ("linux", 1.0, 0.0, False),
])
def test_only_a_real_close_counts_as_closed(platform, visible, fullscreen, closed):
    assert display.window_closed(FakeCv(visible, fullscreen), "w", platform) is closed


def fake_view(monkeypatch, answers):
    """A View with no real window; cv2 answers with the values in ``answers`` (a list)."""
    view = live.View.__new__(live.View)
    view.name, view.closed, view.stop_reason = "w", False, None

    def prop(name, which):
        answer = answers[0][which == live.cv2.WND_PROP_FULLSCREEN]
        if answer == "gone":
            raise live.cv2.error("NULL window")
        return answer

    monkeypatch.setattr(live.cv2, "getWindowProperty", prop)
    monkeypatch.setattr(live.cv2, "waitKey", lambda ms: -1)
    monkeypatch.setattr(display, "sys", fake_sys("darwin"))
    return view


def test_minimising_the_live_window_on_macos_does_not_end_the_run(monkeypatch):
    answers = [(0.0, 0.0)]  # (visible, fullscreen): minimised
    view = fake_view(monkeypatch, answers)
    assert view.keys() is True and not view.closed
    answers[0] = (0.0, "gone")  # closed
    assert view.keys() is False
    assert view.closed and view.stop_reason == "window closed"


def test_minimising_the_final_figure_on_macos_keeps_it(monkeypatch, tmp_path):
    answers = [(0.0, 0.0)]
    view = fake_view(monkeypatch, answers)
    for name in ("destroyWindow", "namedWindow", "imshow", "destroyAllWindows"):
        monkeypatch.setattr(live.cv2, name, lambda *a: None)
    monkeypatch.setattr(live.cv2, "imread", lambda path: np.zeros((4, 4, 3), np.uint8))
    polls = []

    def stop():
        polls.append(1)
        return len(polls) > 5

    view.show_final(str(tmp_path / "x.png"), stop)
    assert len(polls) == 6  # only the stop ended it, not the minimised window
    answers[0] = ("gone", "gone")
    polls.clear()
    view.show_final(str(tmp_path / "x.png"), stop)
    assert len(polls) == 1  # a closed window ends it at once


# ---------------------------------------------------------------- 9. a display that is not there

def short_tmp():
    # AF_UNIX paths are limited to ~104 bytes: pytest's tmp_path can be longer
    return tempfile.mkdtemp(prefix="x11-", dir="/tmp" if os.path.isdir("/tmp") else None)


@pytest.mark.parametrize("value, target", [
    (":0", ("unix", ["/tmp/.X11-unix/X0", "\0/tmp/.X11-unix/X0"])),
    (":12.0", ("unix", ["/tmp/.X11-unix/X12", "\0/tmp/.X11-unix/X12"])),
    ("unix:3", ("unix", ["/tmp/.X11-unix/X3", "\0/tmp/.X11-unix/X3"])),
    ("localhost:10.0", ("tcp", ("localhost", 6010))),
    ("10.0.0.2:1", ("tcp", ("10.0.0.2", 6001))),
    ("/private/tmp/launchd-1/org.xquartz:0", ("unix", ["/private/tmp/launchd-1/org.xquartz:0"])),
    ("nonsense", None),
    (":x", None),
])
def test_display_names_are_read(value, target):
    assert display.parse_display(value) == target


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not POSIX, reason="needs AF_UNIX")
def test_a_stale_x_socket_does_not_answer(monkeypatch):
    folder = short_tmp()
    try:
        monkeypatch.setattr(display, "X11_SOCKET_DIR", folder)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(os.path.join(folder, "X7"))
        server.listen(1)
        assert display.x11_reason({"DISPLAY": ":7"}) == ""
        server.close()  # the server is gone, its socket file stays
        assert os.path.exists(os.path.join(folder, "X7"))
        assert display.x11_reason({"DISPLAY": ":7"}) == "no X server answers at DISPLAY=:7"
        assert "no X server answers" in display.x11_reason({"DISPLAY": ":8"})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_an_x_server_over_tcp_is_asked_with_a_timeout():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    assert port > 6000
    try:
        assert display.x11_reason({"DISPLAY": f"127.0.0.1:{port - 6000}"}) == ""
    finally:
        server.close()
    assert "no X server answers" in display.x11_reason({"DISPLAY": f"127.0.0.1:{port - 6000}"})


def test_wayland_only_has_no_window():
    why = display.reason(platform="linux", environ={"WAYLAND_DISPLAY": "wayland-0"})
    assert "Wayland" in why and "DISPLAY" in why


def free_display_number():
    for n in range(150, 400):
        if display.x11_reason({"DISPLAY": f":{n}"}) and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    pytest.skip("no free X display number")


@pytest.mark.skipif(not LINUX, reason="DISPLAY is read on Linux and the BSDs")
def test_a_stale_display_skips_the_window_and_saves_the_figure(tmp_path, tiny_model):
    n = free_display_number()
    env = headless_env(DISPLAY=f":{n}")
    p = run_script(LATENCY, f"--model={tiny_model}", "--niter=3", "--interval=0",
                   "--util_ms=0", f"--out={tmp_path / 'o'}", cwd=tmp_path, env=env)
    assert p.returncode == 0, (p.returncode, p.stderr)  # not 134: OpenCV never saw it
    assert f"no display (no X server answers at DISPLAY=:{n})" in p.stdout
    assert (tmp_path / "o" / "latency.png").is_file()
    assert read_summary(tmp_path / "o")["stats"]["count"] == 3


@pytest.mark.skipif(not (LINUX and shutil.which("Xvfb")), reason="needs Xvfb on Linux")
def test_a_live_x_server_answers():
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        number = b""
        while not number.endswith(b"\n"):
            chunk = os.read(read, 16)
            assert chunk, "Xvfb ended before it named its display"
            number += chunk
        assert display.x11_reason({"DISPLAY": f":{int(number)}"}) == ""
    finally:
        os.close(read)
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- 10, 11. settings as typed

def test_properties_of_any_scalar_type_are_sent_as_text():
    assert check_properties({"PERFORMANCE_HINT_NUM_REQUESTS": 4, "PERF_COUNT": True,
                             "ALLOW_AUTO_BATCHING": False, "AUTO_BATCH_TIMEOUT": 100.0}) == {
        "PERFORMANCE_HINT_NUM_REQUESTS": "4", "PERF_COUNT": "YES",
        "ALLOW_AUTO_BATCHING": "NO", "AUTO_BATCH_TIMEOUT": "100"}


def test_named_values_are_normalised_before_loading():
    assert check_properties({"PERFORMANCE_HINT": "latency"}) == {"PERFORMANCE_HINT": "LATENCY"}
    with pytest.raises(UsageError, match="not a valid value"):
        check_properties({"PERFORMANCE_HINT": "fast"})


def test_an_int_default_takes_a_fractional_override():
    defaults = {"model": "m.xml", "device": "CPU", "niter": 40, "interval": 30, "nireq": 4,
                "show": True, "out": ""}
    r = settings.resolve(["--interval=12.5"], defaults, {})
    assert r.settings["interval"] == 12.5
    assert settings.resolve([], defaults, {}).settings["interval"] == 30.0
    with pytest.raises(UsageError, match="--niter takes an int"):
        settings.resolve(["--niter=2.5"], defaults, {})


def test_a_preset_note_goes_when_the_device_is_chosen():
    defaults = settings.script_settings(load_script(TIMELINE))
    presets = PRESETS["timeline"]
    r = settings.resolve(["--preset=1.3.2"], defaults, {}, presets, has_gpu=lambda: False)
    assert r.settings["device"] == "BATCH:CPU(16)" and "BATCH:CPU(16)" in r.preset_note
    r = settings.resolve(["--preset=1.3.2", "--device=CPU"], defaults, {}, presets,
                         has_gpu=lambda: False)
    assert r.settings["device"] == "CPU" and r.preset_note is None


def test_a_script_edited_with_ints_and_bools_runs(tmp_path, tiny_model):
    text = TIMELINE.read_text()
    text = text.replace("interval = 30.0", "interval = 30")
    text = text.replace('"PERFORMANCE_HINT_NUM_REQUESTS": "4"',
                        '"PERFORMANCE_HINT_NUM_REQUESTS": 4, "PERF_COUNT": True')
    assert "interval = 30  #" in text and '"PERF_COUNT": True' in text
    script = tmp_path / "edited.py"
    script.write_text(text, encoding="utf-8")
    env = headless_env(PYTHONPATH=str(ROOT))
    p = run_script(script, f"--model={tiny_model}", "--interval=12.5", "--niter=3",
                   "--show=False", "--util_ms=0", "--CACHE_DIR=", "--PERFORMANCE_HINT=latency",
                   f"--out={tmp_path / 'o'}", cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o")
    assert summary["settings"]["interval"] == 12.5
    assert summary["properties"] == {"PERFORMANCE_HINT": "LATENCY", "ALLOW_AUTO_BATCHING": "YES",
                                     "PERFORMANCE_HINT_NUM_REQUESTS": "4", "PERF_COUNT": "YES"}


def test_a_preset_run_on_the_cpu_says_nothing_of_batching(tmp_path, tiny_model):
    p = run_script(TIMELINE, f"--model={tiny_model}", "--preset=1.3.2", "--device=CPU",
                   "--niter=3", "--interval=0", "--show=False", "--util_ms=0",
                   f"--out={tmp_path / 'o'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = read_summary(tmp_path / "o")
    assert summary["device"] == "CPU" and summary["preset_note"] is None
    assert "BATCH:CPU(16)" not in p.stdout


# ---------------------------------------------------------------- 12. memory per request

def test_niter_is_capped_at_what_fits_and_says_why():
    base = {"model": "m.xml", "device": "CPU", "niter": settings.MAX_NITER, "interval": 0.0,
            "nireq": 4, "show": False, "out": ""}
    assert settings.check_settings(dict(base))["niter"] == settings.MAX_NITER
    with pytest.raises(UsageError) as e:
        settings.check_settings(dict(base, niter=settings.MAX_NITER + 1))
    text = str(e.value)
    assert f"at most {settings.MAX_NITER:,} requests" in text and "KB of memory each" in text


@pytest.mark.skipif(not LINUX, reason="/proc is Linux's")
def test_replot_into_an_unwritable_folder_says_so(monkeypatch, capsys, tmp_path, tiny_model):
    from ovsched.__main__ import main
    result = experiment.run_experiment(settings_for(tiny_model, tmp_path / "o", niter=3,
                                                    interval=0.0), {}, kind="latency")
    monkeypatch.setattr(os, "access", lambda *a, **k: True)
    assert main(["replot", result.out, "--out", "/proc/x.png"]) == 2
    assert capsys.readouterr().err == ("error: cannot write /proc/x.png: /proc is not a "
                                       "writable folder\n")
    assert main(["replot", result.out]) == 0
    assert main(["replot", result.out]) == 0  # the first name is taken: -2 beside it
    assert {"latency-replot.png", "latency-replot-2.png", "latency-replot-breakdown.png",
            "latency-replot-2-breakdown.png"} <= set(os.listdir(result.out))
    os.remove(os.path.join(result.out, "latency-replot-2.png"))  # its breakdown stays
    assert main(["replot", result.out]) == 0  # a pair of free names, not a mixed one
    assert {"latency-replot-3.png", "latency-replot-3-breakdown.png"} <= set(
        os.listdir(result.out))
