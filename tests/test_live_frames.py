"""The live view's frame scheduling and drawing helpers, without a window."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
from ovsched.views import live# noqa: E402


def test_frames_keep_their_schedule_on_a_coarse_tick():
    interval = 1 / 12
    due, drawn = 0.0, []
    for tick in range(400):  # a 30 ms loop tick for 12 s
        now = tick * 0.03
        if now >= due:
            drawn.append(now)
            due = live.next_frame_due_s(due, now, interval)
    assert len(drawn) / 12.0 == pytest.approx(12, abs=0.2)
    assert min(np.diff(drawn)) >= 0.03 and max(np.diff(drawn)) <= 0.09 + 1e-9


def test_a_late_frame_restarts_the_schedule_instead_of_a_burst():
    assert live.next_frame_due_s(0.0, 0.05, 0.1) == pytest.approx(0.1)
    assert live.next_frame_due_s(0.0, 1.0, 0.1) == pytest.approx(1.1)


class Clock:
    def __init__(self):
        self.now_s = 100.0

    def __call__(self):
        return self.now_s


def test_update_polls_the_window_every_call_but_draws_at_the_frame_rate(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(live.time, "perf_counter", clock)
    view = live.View.__new__(live.View)  # no window: drawing and keys are counted instead
    view.closed, view.frames, view.frame_due_s = False, 0, 0.0
    view.frame_interval_s = 0.1
    polls = []
    view.keys = lambda: polls.append(clock.now_s) or True
    view.draw_frame = lambda runner: setattr(view, "frames", view.frames + 1)
    for _ in range(100):  # 10 ms ticks for 1 s
        assert view.update(None) is True
        clock.now_s += 0.01
    assert len(polls) == 100
    assert view.frames == 10
    view.closed = True
    assert view.update(None) is False


def test_pending_triangles_are_filled_where_they_overlap():
    xs = np.array([50, 54, 58, 200], np.int32)  # 4 px apart: each overlaps the next
    one_call = np.zeros((40, 300, 3), np.uint8)
    live._filled_triangles(one_call, xs, 20, live.RED)
    one_by_one = np.zeros_like(one_call)
    for x in xs:
        live._triangle(one_by_one, int(x), 20, live.RED, filled=True)
    assert np.array_equal(one_call, one_by_one)
    assert one_call[20, 52].tolist() == list(live.RED)  # inside the overlap, not a hole
    nothing = np.zeros_like(one_call)
    live._filled_triangles(nothing, np.array([], np.int32), 20, live.RED)
    assert not nothing.any()


def test_many_xs_round_as_one_x():
    view = live.TimelineView.__new__(live.TimelineView)
    view.span_s = 7.3
    times = np.linspace(0, 7.3, 997)
    assert view.xs(times).tolist() == [view.x(t) for t in times]
