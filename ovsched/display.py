"""Whether a window can be opened. OpenCV aborts the whole process when asked to open one
on Linux without a display, so this is checked before any window is made."""

import os
import sys


def reason():
    """Why no window can be opened here, or '' when one can."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "DISPLAY is not set"
    return ""


def available():
    return not reason()
