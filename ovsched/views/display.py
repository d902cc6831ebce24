"""Whether a window can be opened. OpenCV aborts the whole process when asked to open one
on Linux without a working X display, and on Windows or macOS without a desktop the window
is invisible and the final figure would wait for a key forever; so this is checked before
any window is made.

Rules, per platform:

- Linux and the BSDs: ``DISPLAY`` must name an X server that accepts a connection (its
  socket ``/tmp/.X11-unix/X<n>``, or TCP port 6000+n for ``host:n``), tried with a short
  timeout. A Wayland-only session (``WAYLAND_DISPLAY`` without ``DISPLAY``) has no window:
  OpenCV's GTK/Qt backend in the pip wheels speaks X only.
- Windows: the process's window station must be visible (``WSF_VISIBLE``); services and
  OpenSSH sessions run on an invisible one. When that cannot be asked, an SSH session
  (``SSH_CONNECTION``) counts as having no desktop.
- macOS: outside SSH a window is assumed possible. Under SSH (``SSH_CONNECTION`` or
  ``SSH_TTY``) the process must belong to the logged-in user's GUI session:
  ``launchctl managername`` answers ``Aqua`` there; when it cannot answer, an inherited
  ``__CFBundleIdentifier`` (set by apps started from the desktop, such as Terminal) counts
  as a GUI session.
"""

import os
import socket
import subprocess
import sys

X11_SOCKET_DIR = "/tmp/.X11-unix"
X11_TCP_BASE = 6000
CONNECT_TIMEOUT_S = 0.5
UOI_FLAGS, WSF_VISIBLE = 1, 0x0001


def reason(platform=None, environ=None):
    """Why no window can be opened here, or '' when one can."""
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    if platform == "win32":
        return windows_reason(env)
    if platform == "darwin":
        return macos_reason(env)
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return x11_reason(env)
    return ""


def available():
    return not reason()


# ---------------------------------------------------------------- X11 (Linux, BSD)

def x11_reason(env, timeout_s=CONNECT_TIMEOUT_S):
    display = env.get("DISPLAY", "")
    if not display:
        if env.get("WAYLAND_DISPLAY"):
            return ("only a Wayland display is set (WAYLAND_DISPLAY, no DISPLAY); OpenCV's "
                    "window needs X: run under XWayland or set DISPLAY")
        return "DISPLAY is not set"
    target = parse_display(display)
    if target is None:
        return f"cannot read DISPLAY={display!r}"
    if not x_server_answers(target, timeout_s):
        return f"no X server answers at DISPLAY={display}"
    return ""


def parse_display(display):
    """Where an X display listens: ('unix', [paths]) or ('tcp', (host, port)); None when
    ``display`` cannot be read. ``:0``, ``unix:0.0``, ``localhost:10.0``, ``/path:0``."""
    if display.startswith("/"):  # a socket path, as XQuartz's launchd sets
        return "unix", [display]
    host, sep, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not sep or not number.isdigit():
        return None
    if host in ("", "unix"):
        path = f"{X11_SOCKET_DIR}/X{number}"
        # Linux X servers also listen on the abstract name; a server without the file
        # (a cleaned /tmp) still answers there.
        return "unix", [path, "\0" + path]
    return "tcp", (host, X11_TCP_BASE + int(number))


def x_server_answers(target, timeout_s=CONNECT_TIMEOUT_S):
    """True when a connection to the display is accepted. A stale socket file (its server
    gone) refuses; nothing is sent, so no X protocol is spoken."""
    kind, where = target
    if kind == "tcp":
        try:
            with socket.create_connection(where, timeout=timeout_s):
                return True
        except OSError:
            return False
    if not hasattr(socket, "AF_UNIX"):
        return False
    for path in where:
        if path.startswith("\0") and not sys.platform.startswith("linux"):
            continue
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            try:
                s.connect(path)
                return True
            except OSError:
                continue
    return False


# ---------------------------------------------------------------- Windows

def windows_reason(env, station_visible=None):
    """``station_visible`` is a callable answering True/False, or None when unknown."""
    visible = (station_visible or window_station_visible)()
    if visible is False:
        return ("no interactive desktop (a service or an SSH session): a window would be "
                "invisible")
    if visible is None and env.get("SSH_CONNECTION"):
        return "an SSH session (SSH_CONNECTION is set) has no desktop to show a window on"
    return ""


def window_station_visible():
    """Whether this process's window station has a visible desktop; None when unknown."""
    try:
        import ctypes
        from ctypes import wintypes

        class UserObjectFlags(ctypes.Structure):
            _fields_ = [("fInherit", wintypes.BOOL), ("fReserved", wintypes.BOOL),
                        ("dwFlags", wintypes.DWORD)]

        user32 = ctypes.windll.user32
        station = user32.GetProcessWindowStation()
        flags = UserObjectFlags()
        needed = wintypes.DWORD()
        if not station or not user32.GetUserObjectInformationW(
                station, UOI_FLAGS, ctypes.byref(flags), ctypes.sizeof(flags),
                ctypes.byref(needed)):
            return None
        return bool(flags.dwFlags & WSF_VISIBLE)
    except (ImportError, AttributeError, OSError):  # not Windows, or the call is missing
        return None


# ---------------------------------------------------------------- macOS

def macos_reason(env, manager_name=None):
    """``manager_name`` returns launchctl's session name ('Aqua', 'Background', ...) or
    None when it cannot be asked."""
    if not (env.get("SSH_CONNECTION") or env.get("SSH_TTY")):
        return ""
    name = (manager_name or launchctl_manager_name)()
    if name is None:
        gui = bool(env.get("__CFBundleIdentifier"))
    else:
        gui = name == "Aqua"
    if gui:
        return ""
    return ("an SSH session outside the desktop's GUI session has no window server "
            f"(launchctl managername: {name or 'unknown'})")


def launchctl_manager_name():
    try:
        p = subprocess.run(["launchctl", "managername"], capture_output=True, text=True,
                           timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    if p.returncode != 0:
        return None
    return p.stdout.strip() or None


# ---------------------------------------------------------------- an open window

def window_closed(cv, name, platform=None):
    """Whether OpenCV window ``name`` was closed (or is gone), for the module ``cv`` (cv2).

    WND_PROP_VISIBLE below 1 means closed everywhere but on macOS, where Cocoa also reports
    a minimised window as not visible. There the window counts as closed only when OpenCV
    no longer knows it: WND_PROP_FULLSCREEN (read from the window itself by the Cocoa
    backend, which raises for a window it does not hold) fails or is negative.
    WND_PROP_AUTOSIZE cannot tell: the Cocoa backend does not implement it and always
    answers -1."""
    try:
        if cv.getWindowProperty(name, cv.WND_PROP_VISIBLE) >= 1:
            return False
    except cv.error:
        return True
    if (platform or sys.platform) != "darwin":
        return True
    try:
        return cv.getWindowProperty(name, cv.WND_PROP_FULLSCREEN) < 0
    except cv.error:
        return True
