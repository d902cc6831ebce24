"""Live OpenCV views drawn on the main thread from the runner's records while it runs.

Finished requests are drawn once onto a kept canvas; each frame copies that canvas and adds
what changes (pending requests, the clock, the counters), so a frame costs the same at the
start of a run and at its end. The window is polled for keys on every call, but a new frame
is composed and shown only FRAME_RATE_FPS times a second: on a small machine every cycle the
drawing takes is one the inference lacks (see the README's Performance section).
"""

import time

import cv2
import numpy as np

from ..derive import analysis

ESC, KEY_Q = 27, ord("q")
FONT = cv2.FONT_HERSHEY_SIMPLEX
GREEN, CYAN, RED, GREY, WHITE, YELLOW = ((0, 255, 0), (255, 255, 0), (60, 60, 255),
                                         (110, 110, 110), (235, 235, 235), (0, 215, 255))
DEVICE_COLOURS = ((255, 200, 80), (80, 160, 255), (120, 230, 120), (230, 120, 230))
STATS_EVERY_S = 0.5
STRIP_H, STRIP_GAP = 70, 20  # the utilization strip's height and the room around it
# A frame (compose, imshow, Qt/GTK painting it) costs ~1.5 ms of CPU time; the keys are
# polled on every loop tick (~0.2 ms) regardless, so ESC/q/close answer within one tick.
FRAME_RATE_FPS = 12.0
TRIANGLE_SIZE = 5


def _triangle_corners(size):
    return np.array([[0, -size], [-size, size - 1], [size, size - 1]], np.int32)


TRIANGLE = _triangle_corners(TRIANGLE_SIZE)


def _triangle(img, x, y, colour, size=TRIANGLE_SIZE, filled=False):
    pts = (TRIANGLE if size == TRIANGLE_SIZE else _triangle_corners(size)) + (x, y)
    if filled:
        cv2.fillConvexPoly(img, pts, colour, cv2.LINE_AA)
    else:
        cv2.polylines(img, [pts], True, colour, 1, cv2.LINE_AA)


def _filled_triangles(img, xs, y, colour):
    """One filled triangle per x on row y (each drawn alone: they overlap, and one fillPoly
    call over all of them would leave the overlaps empty)."""
    for pts in TRIANGLE[None] + np.stack([xs, np.full_like(xs, y)], axis=1)[:, None]:
        cv2.fillConvexPoly(img, pts, colour, cv2.LINE_AA)


def next_frame_due_s(due_s, now_s, interval_s):
    """When the frame after one drawn at ``now_s`` (scheduled for ``due_s``) is due.

    Kept on the schedule, so that a loop tick coarser than the interval still gives the
    frame rate on average; a frame more than an interval late restarts the schedule rather
    than drawing a burst to catch up."""
    due_s += interval_s
    return due_s if due_s > now_s else now_s + interval_s


class View:
    """A window that follows a Runner; ESC, q, closing it or Ctrl+C stop the run."""

    title = "Inference"
    size = (1000, 400)
    strip = None  # a LiveStrip once attach_utilization was called

    def __init__(self, settings, device):
        self.settings = settings
        self.device = device
        self.name = f"{self.title} - {device}"
        self.closed = False
        self.stop_reason = None
        self.drawn = 0
        self.frames = 0
        self.frame_due_s = 0.0  # perf_counter time; the first update draws at once
        self.frame_interval_s = 1.0 / FRAME_RATE_FPS
        w, h = self.size
        self.canvas = np.zeros((h, w, 3), np.uint8)
        cv2.namedWindow(self.name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        self.redraw_base(None)

    def redraw_base(self, runner):
        self.canvas[:] = 0
        self.drawn = 0
        self.draw_axes()
        if runner is not None:
            self.draw_new(runner)

    def draw_axes(self):
        pass

    def draw_new(self, runner):
        """Draw onto the kept canvas every request completed since the last call."""
        order = runner.done_order
        end = len(order)
        for k in range(self.drawn, end):
            self.draw_done(runner, order[k])
        self.drawn = end

    def keys(self):
        key = cv2.waitKey(1) & 0xFF
        if key in (ESC, KEY_Q):
            self.stop_reason = "stopped in the window (ESC/q)"
            return False
        from .display import window_closed  # a minimised window is not a closed one
        if window_closed(cv2, self.name):
            self.closed = True
            self.stop_reason = "window closed"
            return False
        return True

    def update(self, runner):
        """Show a new frame when one is due, and poll the window; False once the user asked
        to stop. Called on every tick of the main thread's loop."""
        if self.closed:
            return False
        now = time.perf_counter()
        if now >= self.frame_due_s:
            self.draw_frame(runner)
            self.frame_due_s = next_frame_due_s(self.frame_due_s, now, self.frame_interval_s)
        return self.keys()

    def draw_frame(self, runner):
        """Compose one frame from the kept canvas and the overlay, and show it."""
        self.prepare(runner)
        self.draw_new(runner)
        frame = self.canvas.copy()
        self.overlay(frame, runner)
        self.draw_utilization(frame, runner)
        cv2.imshow(self.name, frame)
        self.frames += 1

    def prepare(self, runner):
        pass

    def attach_utilization(self, sampler):
        """Grow the window by a utilization strip below the requests, fed by ``sampler``."""
        from .live_strip import LiveStrip
        self.strip_top = self.make_room(STRIP_H + STRIP_GAP)
        w, h = self.size
        self.canvas = np.zeros((h, w, 3), np.uint8)
        self.strip = LiveStrip(sampler, w, STRIP_H, self.left, self.right)
        self.redraw_base(None)

    def draw_utilization(self, frame, runner):
        """The strip, with the samples that arrived since the last frame, into ``frame``."""
        if self.strip is None or runner.t0 is None:
            return
        to_x, scale = self.strip_x(runner)
        self.strip.update(to_x, scale)
        self.strip.paste(frame, self.strip_top)

    def end_live(self):
        """The run is over: let the window take its last events before it changes."""
        if not self.closed:
            cv2.waitKey(1)

    def show_final(self, png_path, stop):
        """Turn the window into the final figure until a key, closing it, or Ctrl+C."""
        if self.closed:
            cv2.destroyAllWindows()
            return
        image = cv2.imread(png_path)
        if image is None:
            cv2.destroyAllWindows()
            return
        cv2.destroyWindow(self.name)
        name = f"{self.name} - done (any key closes)"
        cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        cv2.imshow(name, image)
        print("final figure shown: press any key in its window (or close it) to exit",
              flush=True)
        from .display import window_closed
        while not stop():
            if cv2.waitKey(50) != -1:
                break
            if window_closed(cv2, name):
                break
        cv2.destroyAllWindows()
        cv2.waitKey(1)


class TimelineView(View):
    """The original's window: submit points on the upper row, completions on the lower."""

    title = "Inference Latency"
    size = (1600, 200)
    top, bottom, left, right = 70, 150, 20, 20

    def __init__(self, settings, device):
        planned = settings["niter"] * settings["interval"] / 1e3
        self.span_s = planned + 2.0  # as the original: the whole run plus 2 s fits
        super().__init__(settings, device)

    def x(self, t):
        w = self.size[0] - self.left - self.right
        return int(round(self.left + w * t / self.span_s))

    def xs(self, t):
        """x of many times at once, as int32 (rounded as x rounds)."""
        w = self.size[0] - self.left - self.right
        return np.rint(self.left + w * np.asarray(t, float) / self.span_s).astype(np.int32)

    def draw_axes(self):
        w, h = self.size
        step = next(s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1e9)
                    if self.span_s / s <= 16)
        t = 0.0
        while t <= self.span_s:
            x = self.x(t)
            cv2.line(self.canvas, (x, h - 32), (x, h - 26), GREY, 1)
            cv2.putText(self.canvas, f"{t:g}s", (x + 2, h - 14), FONT, 0.35, GREY, 1, cv2.LINE_AA)
            t += step
        cv2.putText(self.canvas, "submitted", (self.left, self.top - 12), FONT, 0.35, GREY, 1)
        cv2.putText(self.canvas, "completed", (self.left, self.bottom + 22), FONT, 0.35, GREY, 1)

    def make_room(self, extra):
        """Taller by ``extra`` pixels; the time ticks move below the strip. Its top row."""
        w, h = self.size
        self.size = (w, h + extra)
        return h - STRIP_GAP

    def strip_x(self, runner):
        w = self.size[0] - self.left - self.right
        span_s = self.span_s
        return (lambda t: self.left + w * np.asarray(t) / span_s), span_s

    def prepare(self, runner):
        now = time.perf_counter() - runner.t0
        if now > self.span_s:  # a run that overruns its plan is rescaled to fit
            self.span_s = now * 1.5
            self.redraw_base(runner)

    def draw_done(self, runner, i):
        c = runner.run.columns
        xs, xc = self.x(c["submitted_s"][i]), self.x(c["completed_s"][i])
        cv2.line(self.canvas, (xs, self.top), (xc, self.bottom), CYAN, 1, cv2.LINE_AA)
        _triangle(self.canvas, xs, self.top, GREEN)
        _triangle(self.canvas, xc, self.bottom, GREEN)

    def overlay(self, frame, runner):
        n, done = runner.n_submitted, runner.n_completed
        sub, comp = runner.run.columns["submitted_s"], runner.run.columns["completed_s"]
        pending = np.flatnonzero(np.isnan(comp[:n]))
        _filled_triangles(frame, self.xs(sub[pending]), self.top, RED)
        now = time.perf_counter() - runner.t0
        xn = self.x(min(now, self.span_s))
        cv2.line(frame, (xn, self.top - 8), (xn, self.bottom + 8), GREY, 1)
        text = (f"{self.device}   submitted {n}/{runner.niter}   completed {done}   "
                f"pending {len(pending)} (red)   ESC/q: stop")
        cv2.putText(frame, text, (self.left, 24), FONT, 0.5, WHITE, 1, cv2.LINE_AA)


class LatencyView(View):
    """Latency per request, filled in as results arrive; running median and device shown."""

    title = "Inference Latency Graph"
    size = (1000, 480)
    left, right, top, bottom = 60, 20, 50, 40

    def __init__(self, settings, device):
        self.y_max = 50.0
        self.median = None
        self.stats_at = 0.0
        super().__init__(settings, device)

    def x(self, i):
        w = self.size[0] - self.left - self.right
        return int(self.left + w * i / max(self.settings["niter"] - 1, 1))

    def make_room(self, extra):
        """Taller by ``extra`` pixels below the graph, which keeps its size. Its top row."""
        w, h = self.size
        top = h - self.bottom + STRIP_GAP // 2
        self.size = (w, h + extra)
        self.bottom += extra
        return top

    def strip_x(self, runner):
        """Seconds to x through the submit times, as the saved figure places them."""
        from .strip import time_to_request
        w = self.size[0] - self.left - self.right
        per = w / max(self.settings["niter"] - 1, 1)
        sub = runner.run.columns["submitted_s"][:runner.n_submitted]
        interval = self.settings["interval"]
        return (lambda t: self.left + per * time_to_request(t, sub, interval)), None

    def y(self, ms):
        h = self.size[1] - self.top - self.bottom
        return int(self.top + h * (1 - min(ms, self.y_max) / self.y_max))

    def draw_axes(self):
        w, h = self.size
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e9)
                    if self.y_max / s <= 8)
        v = 0.0
        while v <= self.y_max:
            y = self.y(v)
            cv2.line(self.canvas, (self.left, y), (w - self.right, y), (45, 45, 45), 1)
            cv2.putText(self.canvas, f"{v:g}", (8, y + 4), FONT, 0.4, GREY, 1, cv2.LINE_AA)
            v += step
        cv2.putText(self.canvas, "ms", (8, self.top - 12), FONT, 0.4, GREY, 1)
        cv2.putText(self.canvas, f"request (one every {self.settings['interval']:g} ms)",
                    (self.left, h - 12), FONT, 0.4, GREY, 1, cv2.LINE_AA)

    def prepare(self, runner):
        order = runner.done_order
        if len(order) > self.drawn:
            new = np.asarray(order[self.drawn:])
            peak = float(np.nanmax(runner.run.latency_ms_of(new)))
            if peak > self.y_max:
                self.y_max = peak * 1.25
                self.redraw_base(runner)
        now = time.perf_counter()
        if now - self.stats_at >= STATS_EVERY_S and order:
            done = np.asarray(order)
            lat = runner.run.latency_ms_of(done)
            self.median = analysis.describe(lat)["median"]
            self.stats_at = now

    def draw_done(self, runner, i):
        ms = runner.run.latency_ms_of(i)
        colour = DEVICE_COLOURS[int(runner.device_code[i]) % len(DEVICE_COLOURS)]
        cv2.circle(self.canvas, (self.x(i), self.y(ms)), 2, colour, -1, cv2.LINE_AA)

    def overlay(self, frame, runner):
        done = runner.n_completed
        device = runner.device_names[int(runner.device_code[max(runner.n_submitted - 1, 0)])]
        text = f"{self.device}   now on {device}   {done}/{runner.niter} done"
        if self.median is not None:
            y = self.y(self.median)
            cv2.line(frame, (self.left, y), (self.size[0] - self.right, y), YELLOW, 1)
            text += f"   median {self.median:.1f} ms (yellow)"
        if done:
            i = runner.done_order[-1]
            text += f"   latest {runner.run.latency_ms_of(i):.1f} ms"
        cv2.putText(frame, text, (self.left, 24), FONT, 0.5, WHITE, 1, cv2.LINE_AA)
        cv2.putText(frame, "ESC/q: stop", (self.size[0] - 110, self.size[1] - 12), FONT, 0.4,
                    GREY, 1, cv2.LINE_AA)


def make_view(kind, settings, device):
    return (TimelineView if kind == "timeline" else LatencyView)(settings, device)
