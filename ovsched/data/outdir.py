"""Where a run's files go: checked before the run starts, created only when there is
something to write, and never over an earlier run's files."""

import datetime
import os
import tempfile

from ..errors import RunError, UsageError


def nearest_existing(path):
    """``path`` itself or its closest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def prove_writable(folder):
    """Create and remove a probe file in ``folder``; raise UsageError when that fails.

    ``os.access`` cannot answer this: on Windows it says yes for every folder, and on
    Linux it says yes for /proc as root."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".ovsched-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise UsageError(f"cannot write results under {folder} ({reason}); give "
                         f"--out=FOLDER somewhere writable") from None


def plan_out(out, stem):
    """Check the output folder before anything runs; return (path, is_default)."""
    if out:
        if os.path.isfile(out):
            raise UsageError(f"--out={out} is a file; give a folder that does not exist yet")
        if os.path.isdir(out) and os.listdir(out):
            raise UsageError(f"--out={out} already holds files; give a new folder (an "
                             f"earlier run is never overwritten) or leave out empty")
        target, default = out, False
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        target, default = os.path.join("runs", f"{stem}-{stamp}"), True
    parent = nearest_existing(target)
    if not os.path.isdir(parent):
        raise UsageError(f"cannot make the folder {target}: {parent} is a file; give "
                         f"--out=FOLDER somewhere writable")
    prove_writable(parent)
    return target, default


def make_out(target, default, say=print):
    """Create the output folder; a default name that exists already gets a suffix."""
    if not default:
        os.makedirs(target, exist_ok=True)
        if not os.listdir(target):
            return target
        say(f"warning: {target} was filled by something else during the run; "
            f"writing beside it instead")
    for n in range(1, 1000):
        path = target if n == 1 else f"{target}-{n}"
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            continue
    raise RunError(f"cannot find a free folder name beside {target}")
