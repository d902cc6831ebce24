"""The live views' utilization strip: an image of its own, kept between frames, onto which
only the samples that arrived since the last frame are drawn; each frame pastes it in and
writes the newest values beside it. A change of the horizontal scale redraws it whole."""

import cv2
import numpy as np

from ..utilization.session import now_text
from ..utilization.track import empty

FONT = cv2.FONT_HERSHEY_SIMPLEX
FRAME_GREY, TEXT_GREY = (70, 70, 70), (150, 150, 150)
# BGR, away from the requests' own colours so that a glance (or a test) tells them apart
COLOURS = {"cpu": (0, 140, 255), "process": (200, 110, 200)}
GPU_COLOUR, NPU_COLOUR = (230, 130, 60), (180, 180, 250)
CAPPED_COLOUR = (40, 40, 215)  # a red tick over a sample shown capped at 0 or 100 %
# Each core and the memory are left to the saved figure: the live strip stays legible.
TEXT_H = 16  # rows above the 100 % line for the newest values


def shown(source):
    return source in ("cpu", "process") or source.startswith(("gpu.", "npu"))


def colour(source):
    if source in COLOURS:
        return COLOURS[source]
    return NPU_COLOUR if source.startswith("npu") else GPU_COLOUR


class LiveStrip:
    """``width`` x ``height`` pixels of busy % (0 at the bottom, 100 at the top) of the
    sampler's sources, x from ``to_x(seconds)`` given at each update."""

    def __init__(self, sampler, width, height, left, right):
        self.sampler = sampler
        self.width, self.height, self.left, self.right = width, height, left, right
        self.image = np.zeros((height, width, 3), np.uint8)
        self.columns = empty()
        self.scale = object()  # no scale yet: the first update draws everything
        self.last = {}  # source -> (x, y) where its line ends

    def y(self, percent):
        """Rows TEXT_H (100 %) to height - 2 (0 %): the values are written above."""
        span = self.height - 2 - TEXT_H
        return int(round(self.height - 2 - span * min(max(percent, 0), 100) / 100))

    def clear(self):
        self.image[:] = 0
        for y in (self.y(0), self.y(100)):
            cv2.line(self.image, (self.left, y), (self.width - self.right, y), FRAME_GREY, 1)
        cv2.putText(self.image, "100%", (2, self.y(100) + 8), FONT, 0.3, TEXT_GREY, 1)
        cv2.putText(self.image, "0%", (2, self.y(0)), FONT, 0.3, TEXT_GREY, 1)
        self.last = {}

    def update(self, to_x, scale):
        """Take the new samples and draw them; the whole strip again when ``scale`` (what
        ``to_x`` depends on) changed."""
        new = self.sampler.samples(since=len(self.columns["time_s"]))
        for name, values in new.items():
            self.columns.setdefault(name, []).extend(values)
        if scale != self.scale:
            self.scale = scale
            self.clear()
            self.draw(self.columns, to_x)
        elif new["time_s"]:
            self.draw(new, to_x)

    def draw(self, columns, to_x):
        keep = [k for k, s in enumerate(columns["source"]) if shown(s)]
        if not keep:
            return
        times = np.asarray([columns["time_s"][k] for k in keep])
        xs = to_x(times)
        periods = columns.get("period_s") or [None] * len(columns["time_s"])
        starts = to_x(times - np.asarray([periods[k] or self.sampler.period_s for k in keep]))
        uncapped = columns.get("uncapped") or [None] * len(columns["time_s"])
        for k, x, x_start in zip(keep, xs, starts):
            if not np.isfinite(x):
                continue
            source, value = columns["source"][k], columns["value"][k]
            y = self.y(value)
            # nothing left of the requests' axis (compiling, on the latency view)
            lo, hi = self.left, self.width - self.right
            x0, y0 = self.last.get(source, (int(min(max(x_start, lo), hi)), y))
            x = int(min(max(x, lo), hi))
            # a step: at the old value's height to where the new period began, then over
            cv2.line(self.image, (x0, y0), (x0, y), colour(source), 1)
            cv2.line(self.image, (x0, y), (x, y), colour(source), 1)
            if uncapped[k] is not None:
                mark = y - 4 if value >= 50 else y + 4
                cv2.line(self.image, (x, y), (x, mark), CAPPED_COLOUR, 2)
            self.last[source] = (x, y)

    def paste(self, frame, top):
        """Copy the strip into ``frame`` at row ``top`` and write the newest values."""
        frame[top:top + self.height, :self.width] = self.image
        x = self.left
        for part in now_text(self.sampler.latest()).split("  "):
            if not part:
                continue
            source = part.rsplit(" ", 1)[0]
            cv2.putText(frame, part, (x, top + 11), FONT, 0.38, colour(source), 1, cv2.LINE_AA)
            x += 9 * len(part) + 14
        cv2.putText(frame, "process (this one)", (x, top + 11), FONT, 0.38,
                    COLOURS["process"], 1, cv2.LINE_AA)
