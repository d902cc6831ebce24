"""Intel GPU on Linux: this process's share of each engine class, from DRM fdinfo.

Every DRM file the process holds open has ``/proc/self/fdinfo/<fd>`` with a ``drm-driver:``
line (the kernel's drm-usage-stats format). i915 reports ``drm-engine-<class>: <ns> ns`` of busy
time, optionally with ``drm-engine-capacity-<class>`` engines in the class; xe reports
``drm-cycles-<class>`` busy cycles against ``drm-total-cycles-<class>`` of the engine's own clock.
Several descriptors can share one client, so a client counts once per ``drm-pdev`` +
``drm-client-id``. Sources: ``gpu.<class>`` per card (``@1`` for the second Intel card).

A client first seen after the first reading either opened during the run (the GPU plugin's,
opened while compiling: counted from zero) or existed before with a history (its busy time is
more than the time since sampling began allows): that one is counted from its first reading.
An xe client is always counted from its first reading: its clock does not start at open.

Where no engine counters of this process are seen, ``gpu.awake`` gives the whole card's busy
share from its idle residency (i915 RC6, xe gtidle) of GT 0; a second GT (``gt1``: the media
GT of Meteor Lake and later, which runs video) is ``gpu.awake.gt1``. Those count every process.
xe's fdinfo read wakes the device and walks the client's buffers, and reading RC6 wakes it
too, so this reader runs at its own period (``gpu_util_ms``).
"""

import os
import time

from ._common import Monotonic, indexed, numbered, read_int, read_text, uevent

DRIVERS = ("i915", "xe")
# One set of names for both drivers, so a figure reads the same on either.
CLASS_NAMES = {
    "rcs": "render", "bcs": "copy", "vcs": "video", "vecs": "video-enhance", "ccs": "compute",
    "render": "render", "copy": "copy", "video": "video", "video-enhance": "video-enhance",
    "video_enhance": "video-enhance", "compute": "compute",
}
I915_RC6 = os.path.join("gt", "gt0", "rc6_residency_ms")
XE_IDLE = os.path.join("device", "tile0", "gt0", "gtidle", "idle_residency_ms")
AWAKE_NOTE = "whole GPU busy (not in its idle state), counts every process on the card"
GT_NOTE = ("GT {n} of the card (on Meteor Lake and later the media GT, which runs video) "
           "busy (not in its idle state), counts every process on the card")
HISTORY_NOTE = ("{n} client(s) first seen during sampling had more busy time than the time "
                "since sampling began: counted from their first reading")


def parse_fdinfo(text):
    """The ``drm-*`` keys of one fdinfo file as {key: value string}, units dropped; None when
    the file is not a DRM file."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("drm-"):
            fields[key.strip()] = value.split()[0] if value.split() else ""
    return fields if "drm-driver" in fields else None


def driver_of(text):
    """The ``drm-driver:`` value of an fdinfo text; None when it is not a DRM file."""
    at = text.find("drm-driver:")
    if at < 0:
        return None
    return text[at + len("drm-driver:"):].split("\n", 1)[0].strip()


def client_counters(fields):
    """Per engine class of one client: ('ns', busy_ns, capacity) for i915 style or
    ('cycles', busy, total, capacity) for xe style."""
    capacity = {}
    for key, value in fields.items():
        if key.startswith("drm-engine-capacity-"):
            capacity[key[len("drm-engine-capacity-"):]] = max(int(value), 1)
    out = {}
    for key, value in fields.items():
        if key.startswith("drm-engine-capacity-"):
            continue
        if key.startswith("drm-engine-"):
            cls = key[len("drm-engine-"):]
            out[cls] = ("ns", int(value), capacity.get(cls, 1))
        elif key.startswith("drm-cycles-"):
            cls = key[len("drm-cycles-"):]
            total = fields.get(f"drm-total-cycles-{cls}")
            if total is not None:
                out[cls] = ("cycles", int(value), int(total), capacity.get(cls, 1))
    return out


def class_name(cls):
    return CLASS_NAMES.get(cls, cls)


def awake_name(card, gt):
    return indexed("gpu.awake" if gt == 0 else f"gpu.awake.gt{gt}", card)


def _idle_files(card_dir, driver):
    """{gt number: (path, kind)} of a card's idle-residency counters."""
    found = {}
    if driver == "i915":
        for n, gt in numbered(os.path.join(card_dir, "gt"), "gt"):
            path = os.path.join(gt, "rc6_residency_ms")
            if os.path.exists(path):
                found[n] = (path, "rc6")
    else:
        for _, tile in numbered(os.path.join(card_dir, "device"), "tile"):
            for n, gt in numbered(tile, "gt"):
                path = os.path.join(gt, "gtidle", "idle_residency_ms")
                if os.path.exists(path):
                    found[n] = (path, "gtidle")
    return found


class Reader:
    name = "gpu"
    kind = "linux_drm"
    min_period_s = 0.0
    gpu_period = True  # the sampler sets min_period_s from gpu_util_ms

    def __init__(self, proc_root, sys_root):
        self.cards = []  # (index, pdev, driver, {gt: (path or None, kind)})
        self.monotonic = Monotonic()
        self.skip = {}  # fd -> link target of a file found not to be an i915/xe DRM file
        self.seen_engines = False
        self.baselines = {}  # client -> its first counters (history) or None (from zero)
        self.history = 0
        self.t_first = None
        if proc_root is None:  # a reader of recorded readings (replay)
            self.active = True
            self.index_of = {}
            return
        self.fdinfo_dir = os.path.join(proc_root, "self", "fdinfo")
        self.fd_dir = os.path.join(proc_root, "self", "fd")
        for _, path in numbered(os.path.join(sys_root, "class", "drm"), "card"):
            info = uevent(os.path.join(path, "device"))
            driver = info.get("DRIVER")
            if driver in DRIVERS:
                self.cards.append((len(self.cards), info.get("PCI_SLOT_NAME"), driver,
                                   _idle_files(path, driver)))
        self.index_of = {pdev: i for i, pdev, *_ in self.cards if pdev}
        self.active = bool(self.cards)

    def describe(self):
        return {"cards": [{"pdev": pdev, "driver": driver,
                           "gts": {str(n): kind for n, (_, kind) in sorted(gts.items())}}
                          for _, pdev, driver, gts in self.cards]}

    @classmethod
    def from_description(cls, description):
        reader = cls(None, None)
        for i, card in enumerate(description["cards"]):
            gts = {int(n): (None, kind) for n, kind in card["gts"].items()}
            reader.cards.append((i, card["pdev"], card["driver"], gts))
        reader.index_of = {pdev: i for i, pdev, *_ in reader.cards if pdev}
        return reader

    def unavailable(self):
        if not self.cards:
            return {"gpu": "no Intel GPU: no card with driver i915 or xe in /sys/class/drm"}
        out = {}
        for i, _, driver, gts in self.cards:
            if not gts:
                rel = I915_RC6 if driver == "i915" else XE_IDLE
                out[indexed("gpu.awake", i)] = f"no {rel} for this {driver} card"
        if not self.seen_engines:
            out["gpu.<class>"] = ("no DRM file of this process has reported engine busy time "
                                  "(drm-engine-* or drm-cycles-* in /proc/self/fdinfo)")
        return out

    def notes(self):
        note = "this process's share of the engine class, % of its capacity"
        if self.history:
            note += "; " + HISTORY_NOTE.format(n=self.history)
        notes = {"gpu.<class>": note}
        for i, _, _, gts in self.cards:
            for n, (_, kind) in gts.items():
                extra = " (xe gtidle: only the deepest idle counts, so it overstates)" \
                    if kind == "gtidle" else ""
                text = AWAKE_NOTE if n == 0 else GT_NOTE.format(n=n)
                if n == 0 and len(gts) > 1:
                    text += "; GT 0 only (render and compute)"
                notes[awake_name(i, n)] = text + extra
        return notes

    def _card(self, pdev):
        if pdev not in self.index_of:
            self.index_of[pdev] = len(self.index_of)
        return self.index_of[pdev]

    def _drm_texts(self):
        """{fd: fdinfo text} of this process's i915 and xe files. Any other file (not DRM, or
        another driver's DRM file such as the NPU's intel_vpu) is skipped from then on while
        its descriptor points at the same file."""
        try:
            fds = os.listdir(self.fdinfo_dir)
        except OSError:
            return {}
        texts = {}
        for fd in fds:
            try:
                target = os.readlink(os.path.join(self.fd_dir, fd))
            except OSError:
                target = None
            if target is not None and self.skip.get(fd) == target:
                continue
            try:
                text = read_text(os.path.join(self.fdinfo_dir, fd))
            except (OSError, ValueError):
                continue  # the file was closed between the listing and the read
            if driver_of(text) not in DRIVERS:
                if target is not None:
                    self.skip[fd] = target
                continue
            self.skip.pop(fd, None)
            texts[fd] = text
        return texts

    def fetch(self):
        idle = {}
        for i, _, _, gts in self.cards:
            for n, (path, _) in gts.items():
                idle[f"{i}.{n}"] = read_int(path)
        return {"fdinfo": self._drm_texts(), "idle_ms": idle}

    def read(self):
        return self.parse(self.fetch(), time.perf_counter())

    def _is_history(self, counters, t_s):
        """Whether a client first seen at ``t_s`` has more busy time than it could have
        gathered since sampling began (then it existed before, with a history)."""
        if t_s is None or self.t_first is None or t_s <= self.t_first:
            return True  # seen at the first reading: everything before is history
        since_s = t_s - self.t_first
        for c in counters.values():
            if c[0] == "cycles":
                return True  # a clock that did not start at open: no way to tell
            if c[1] > since_s * 1e9 * c[2]:
                return True
        return False

    def parse(self, raw, t_s):
        if self.t_first is None:
            self.t_first = t_s
        clients = {}
        # in descriptor order, so that a client's first descriptor is the one read
        for fd in sorted(raw["fdinfo"], key=lambda k: (0, int(k), "") if k.isdigit()
                         else (1, 0, k)):
            fields = parse_fdinfo(raw["fdinfo"][fd])
            if fields is None or fields["drm-driver"] not in DRIVERS:
                continue
            pdev = fields.get("drm-pdev", "")
            key = (pdev, fields.get("drm-client-id", f"fd{fd}"))
            if key in clients:
                continue
            counters = {}
            for cls, c in client_counters(fields).items():
                if c[0] == "ns":
                    c = ("ns", self.monotonic((key, cls), c[1]), c[2])
                else:
                    c = ("cycles", self.monotonic((key, cls), c[1]),
                         self.monotonic((key, cls, "total"), c[2]), c[3])
                counters[cls] = c
            if key not in self.baselines:
                history = self._is_history(counters, t_s)
                self.baselines[key] = counters if history else None
                if history and t_s is not None and t_s > self.t_first:
                    self.history += 1
            clients[key] = (self._card(pdev), counters)
        idle = {tuple(int(x) for x in k.split(".")): v for k, v in raw["idle_ms"].items()}
        return {"clients": clients, "idle_ms": idle}

    def rates(self, before, after, dt_s):
        share = {}  # (card, class) -> busy fraction
        for key, (card, counters) in after["clients"].items():
            if key in before["clients"]:
                old = before["clients"][key][1]
            else:
                old = self.baselines.get(key)
                if old is counters:
                    continue  # its first reading is its baseline: nothing to count yet
                old = old or {}  # None: opened during sampling, counted from zero
            for cls, c in counters.items():
                o = old.get(cls)
                if c[0] == "ns":
                    busy_ns = c[1] - (o[1] if o else 0)
                    frac = busy_ns / (dt_s * 1e9 * c[2]) if dt_s > 0 else None
                else:
                    if o is None or c[2] <= o[2]:
                        continue  # xe's total is a clock, not zero at open: need two readings
                    frac = (c[1] - o[1]) / ((c[2] - o[2]) * c[3])
                if frac is not None:
                    k = (card, class_name(cls))
                    share[k] = share.get(k, 0.0) + frac
        out = {}
        for (card, cls), frac in share.items():
            # past 100 % (busy time credited in a lump) is capped and marked by the sampler
            out[indexed(f"gpu.{cls}", card)] = 100.0 * frac
        if share:
            self.seen_engines = True
        for (card, gt), idle_ms in after["idle_ms"].items():
            old = before["idle_ms"].get((card, gt))
            if old is None or dt_s <= 0:
                continue
            idle_frac = (idle_ms - old) / (dt_s * 1e3)
            out[awake_name(card, gt)] = 100.0 * (1.0 - idle_frac)
        return out
