"""Live views in real windows on a virtual screen (Xvfb), looked at as a person would."""

import os
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from conftest import LATENCY, TIMELINE, headless_env, read_records, read_summary

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not all(shutil.which(t) for t in ("Xvfb", "xdotool", "import")),
    reason="needs Linux (OpenCV draws through X there), Xvfb, xdotool and imagemagick "
           "(.ci/run installs them)")


@pytest.fixture(scope="module")
def screen():
    """A virtual screen; yields the environment that points at it."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    while not number.endswith(b"\n"):
        chunk = os.read(read, 16)
        if not chunk:
            break
        number += chunk
    os.close(read)
    env = headless_env(DISPLAY=f":{int(number)}")
    yield env
    proc.terminate()
    proc.wait(10)


def start(script, *args, env, cwd):
    return subprocess.Popen([sys.executable, str(script), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def find_window(name, env, proc, timeout=90):
    """The id of the first window whose title matches ``name``; fails with what the child
    printed (and the windows there are) when it ends or no such window appears in time."""
    end = time.time() + timeout
    searched = None
    while time.time() < end:
        searched = subprocess.run(["xdotool", "search", "--name", name], env=env,
                                  capture_output=True, text=True)
        if searched.stdout.strip():
            return searched.stdout.split()[0]
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    windows = subprocess.run(["xdotool", "search", "--name", "."], env=env,
                             capture_output=True, text=True).stdout.split()
    titles = [subprocess.run(["xdotool", "getwindowname", w], env=env, capture_output=True,
                             text=True).stdout.strip() for w in windows[:20]]
    state = "still running" if proc.poll() is None else f"exited with {proc.returncode}"
    proc.kill()
    stdout, stderr = proc.communicate(timeout=30)
    raise AssertionError(
        f"no window named {name!r} appeared ({state}); xdotool said "
        f"{searched.returncode if searched else None} {searched.stderr if searched else ''!r};"
        f" window titles {[t for t in titles if t]}\n"
        f"--- stdout\n{stdout}\n--- stderr\n{stderr}")


def press(window, key, env):
    subprocess.run(["xdotool", "windowfocus", "--sync", window, "key", key], env=env,
                   check=True, timeout=20)


def screenshot(env, path):
    subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, timeout=30)
    image = cv2.imread(str(path))
    assert image is not None
    return image


def rows_of(image, bgr, tol=40):
    """Screen rows holding pixels of (about) the given colour."""
    mask = np.all(np.abs(image.astype(int) - np.array(bgr)) <= tol, axis=2)
    return np.flatnonzero(mask.sum(axis=1) > 0), int(mask.sum())


def bands(rows, gap=10):
    """Split sorted row numbers into bands separated by more than ``gap`` rows."""
    if rows.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(rows) > gap)
    return [(int(b[0]), int(b[-1])) for b in np.split(rows, cuts + 1)]


def test_timeline_window_shows_requests_and_esc_stops(screen, tmp_path, tiny_model):
    out = tmp_path / "run"
    proc = start(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=400",
                 "--interval=50", "--nireq=8", "--CACHE_DIR=", f"--out={out}",
                 env=screen, cwd=tmp_path)
    try:
        window = find_window("Inference Latency", screen, proc)
        time.sleep(2.5)
        # a batch of 4 fills every 200 ms, so a frame right after one completed may have
        # nothing pending yet, and a busy machine draws the first frames late: look again
        # for a while, as a person watching would
        end = time.time() + 30
        for attempt in range(1000):
            image = screenshot(screen, tmp_path / f"live{attempt % 2}.png")
            red_rows, red = rows_of(image, (60, 60, 255), tol=30)  # waiting for a batch
            green_rows, green = rows_of(image, (0, 255, 0))
            if (red > 10 and green > 50) or time.time() > end:
                break
            time.sleep(0.15)
        green_bands = bands(green_rows)
        # triangles on the submit row and on the completion row, 80 px below it
        assert green > 50 and len(green_bands) >= 2, green_bands
        top, bottom = green_bands[0], green_bands[-1]
        assert 60 <= bottom[0] - top[0] <= 100
        cyan_rows, cyan = rows_of(image, (255, 255, 0))  # request lines between the rows
        assert cyan > 50 and top[0] <= cyan_rows.min() and cyan_rows.max() <= bottom[1]
        assert red > 10 and top[0] <= red_rows.min() and red_rows.max() <= top[1] + 2
        press(window, "Escape", screen)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "stopped early at request" in stdout
    summary = read_summary(out)
    rows = read_records(out)
    assert summary["interrupted"] is True
    assert summary["stop_reason"] == "stopped in the window (ESC/q)"
    assert 0 < len(rows) == summary["stopped_at_request"] < 400
    assert sorted(int(r["request"]) for r in rows) == list(range(len(rows)))
    assert all(r["completed_s"] for r in rows)  # in-flight requests were allowed to finish
    assert (out / "timeline.png").exists()


def test_latency_window_fills_in_and_q_stops(screen, tmp_path, tiny_model):
    out = tmp_path / "lat"
    proc = start(LATENCY, f"--model={tiny_model}", "--niter=3000", "--interval=5",
                 f"--out={out}", env=screen, cwd=tmp_path)
    try:
        window = find_window("Inference Latency Graph", screen, proc)
        time.sleep(3)
        # a busy machine draws the first frames late: look again for a while
        end = time.time() + 10
        while True:
            image = screenshot(screen, tmp_path / "live.png")
            dots_rows, dots = rows_of(image, (255, 200, 80), tol=30)  # one dot per request
            median_rows, median = rows_of(image, (0, 215, 255), tol=20)  # the running median
            if (dots > 100 and median > 100) or time.time() > end:
                break
            time.sleep(0.3)
        assert dots > 100
        assert median > 100
        press(window, "q", screen)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    summary = read_summary(out)
    assert summary["interrupted"] is True
    assert summary["stats"]["count"] == len(read_records(out)) == summary["stopped_at_request"]


def test_finished_run_turns_into_the_final_figure(screen, tmp_path, tiny_model):
    out = tmp_path / "fin"
    proc = start(TIMELINE, f"--model={tiny_model}", "--device=BATCH:CPU(4)", "--niter=16",
                 "--interval=10", "--CACHE_DIR=", f"--out={out}", env=screen, cwd=tmp_path)
    try:
        window = find_window("any key closes", screen, proc)
        # the window exists before its first paint: look until the figure shows, as a
        # person would, for a while
        end = time.time() + 20
        while True:
            image = screenshot(screen, tmp_path / "final.png")
            white = np.all(image >= 250, axis=2).sum()
            if white > 100_000 or time.time() > end:
                break
            time.sleep(0.2)
        assert white > 100_000  # the matplotlib figure, white background, is on screen
        assert (out / "records.csv").exists()  # written before the window waits
        press(window, "space", screen)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert len(read_records(out)) == 16


def test_ctrl_c_during_live_view_keeps_the_results(screen, tmp_path, tiny_model):
    out = tmp_path / "int"
    proc = start(LATENCY, f"--model={tiny_model}", "--niter=3000", "--interval=5",
                 f"--out={out}", env=screen, cwd=tmp_path)
    try:
        find_window("Inference Latency Graph", screen, proc)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    summary = read_summary(out)
    assert summary["stop_reason"] == "interrupted (Ctrl+C)"
    assert len(read_records(out)) == summary["stopped_at_request"] > 0
