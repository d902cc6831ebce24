"""Intel GPU on Linux: this process's share of each engine class, from DRM fdinfo.

Every DRM file the process holds open has ``/proc/self/fdinfo/<fd>`` with a ``drm-driver:``
line (the kernel's drm-usage-stats format). i915 reports ``drm-engine-<class>: <ns> ns`` of busy
time, optionally with ``drm-engine-capacity-<class>`` engines in the class; xe reports
``drm-cycles-<class>`` busy cycles against ``drm-total-cycles-<class>`` of the engine's own clock.
Several descriptors can share one client, so a client counts once per ``drm-pdev`` +
``drm-client-id``. Sources: ``gpu.<class>`` per card (``@1`` for the second Intel card).

Where no engine counters of this process are seen, ``gpu.awake`` gives the whole card's busy
share from its idle residency (i915 RC6, xe gtidle); that counts every process on the card.
"""

import os

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


def parse_fdinfo(text):
    """The ``drm-*`` keys of one fdinfo file as {key: value string}, units dropped; None when
    the file is not a DRM file."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("drm-"):
            fields[key.strip()] = value.split()[0] if value.split() else ""
    return fields if "drm-driver" in fields else None


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


class Reader:
    name = "gpu"
    min_period_s = 0.0

    def __init__(self, proc_root, sys_root):
        self.fdinfo_dir = os.path.join(proc_root, "self", "fdinfo")
        self.fd_dir = os.path.join(proc_root, "self", "fd")
        self.cards = []  # (index, pdev, driver, idle file or None, idle kind)
        for _, path in numbered(os.path.join(sys_root, "class", "drm"), "card"):
            info = uevent(os.path.join(path, "device"))
            driver = info.get("DRIVER")
            if driver not in DRIVERS:
                continue
            idle, kind = None, None
            for rel, what in ((I915_RC6, "rc6"), (XE_IDLE, "gtidle")):
                if os.path.exists(os.path.join(path, rel)):
                    idle, kind = os.path.join(path, rel), what
                    break
            self.cards.append((len(self.cards), info.get("PCI_SLOT_NAME"), driver, idle, kind))
        self.index_of = {pdev: i for i, pdev, *_ in self.cards if pdev}
        self.active = bool(self.cards)
        self.monotonic = Monotonic()
        self.skip = {}  # fd -> link target of a file already found not to be DRM
        self.seen_engines = False

    def unavailable(self):
        if not self.cards:
            return {"gpu": "no Intel GPU: no card with driver i915 or xe in /sys/class/drm"}
        out = {}
        for i, _, driver, idle, _ in self.cards:
            if idle is None:
                rel = I915_RC6 if driver == "i915" else XE_IDLE
                out[indexed("gpu.awake", i)] = f"no {rel} for this {driver} card"
        if not self.seen_engines:
            out["gpu.<class>"] = ("no DRM file of this process has reported engine busy time "
                                  "(drm-engine-* or drm-cycles-* in /proc/self/fdinfo)")
        return out

    def notes(self):
        notes = {"gpu.<class>": "this process's share of the engine class, % of its capacity"}
        for i, _, _, idle, kind in self.cards:
            if idle is not None:
                extra = " (xe gtidle: only the deepest idle counts, so it overstates)" \
                    if kind == "gtidle" else ""
                notes[indexed("gpu.awake", i)] = AWAKE_NOTE + extra
        return notes

    def _card(self, pdev):
        if pdev not in self.index_of:
            self.index_of[pdev] = len(self.index_of)
        return self.index_of[pdev]

    def _drm_files(self):
        try:
            fds = os.listdir(self.fdinfo_dir)
        except OSError:
            return
        for fd in fds:
            try:
                target = os.readlink(os.path.join(self.fd_dir, fd))
            except OSError:
                target = None
            if target is not None and self.skip.get(fd) == target:
                continue
            try:
                fields = parse_fdinfo(read_text(os.path.join(self.fdinfo_dir, fd)))
            except (OSError, ValueError):
                continue  # the file was closed between the listing and the read
            if fields is None:
                if target is not None:
                    self.skip[fd] = target
                continue
            self.skip.pop(fd, None)
            yield fd, fields

    def read(self):
        clients = {}
        for fd, fields in self._drm_files():
            if fields["drm-driver"] not in DRIVERS:
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
            clients[key] = (self._card(pdev), counters)
        idle = {}
        for i, _, _, path, _ in self.cards:
            if path is not None:
                idle[i] = read_int(path)
        return {"clients": clients, "idle_ms": idle}

    def rates(self, before, after, dt_s):
        share = {}  # (card, class) -> busy fraction
        for key, (card, counters) in after["clients"].items():
            old = before["clients"].get(key, (card, {}))[1]
            for cls, c in counters.items():
                o = old.get(cls)
                if c[0] == "ns":
                    # a client opened since the last reading started from zero
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
        process_cards = set()
        for (card, cls), frac in share.items():
            out[indexed(f"gpu.{cls}", card)] = 100.0 * frac
            process_cards.add(card)
        if process_cards:
            self.seen_engines = True
        for card, idle_ms in after["idle_ms"].items():
            old = before["idle_ms"].get(card)
            if old is None or dt_s <= 0:
                continue
            idle_frac = (idle_ms - old) / (dt_s * 1e3)
            out[indexed("gpu.awake", card)] = 100.0 * min(max(1.0 - idle_frac, 0.0), 1.0)
        return out
