"""Device strings as text, and reading a compiled model's properties: what the run, the
derived labels and the sweep all need to know about a device without compiling anything."""

import re

from ..errors import UsageError

VIRTUAL_DEVICES = ("AUTO", "MULTI", "BATCH", "HETERO")
KNOWN_DEVICES = ("CPU", "GPU", "NPU")


def split_device(device):
    """The real device names a device string names, each with its batch text if any."""
    head, _, rest = device.partition(":")
    if head not in VIRTUAL_DEVICES:
        return [(device, None)]
    if not rest:
        return []
    parts = []
    for item in rest.split(","):
        m = re.fullmatch(r"([^()]*)(?:\(([^()]*)\))?", item.strip())
        if m is None:
            raise UsageError(f"cannot read device {device!r}: write a batch size in brackets "
                             f"at the end, e.g. BATCH:CPU(8)")
        parts.append((m.group(1), m.group(2)))
    return parts


def read_property(compiled, name, default=None):
    """A compiled model's property if it supports it, else ``default``."""
    try:
        if name not in compiled.get_property("SUPPORTED_PROPERTIES"):
            return default
        return compiled.get_property(name)
    except Exception:  # some plugins list a property they then cannot report
        return default


def device_text(value):
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
