"""Exit codes and the two kinds of failure a run can end with. Imports nothing heavy."""

import errno
import os
import sys

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input. Its text is one line naming the problem and the fix; exit code 2."""


class RunError(Exception):
    """The run itself failed (not the user's input): exit code 1, records kept.

    ``run`` is the Run recorded so far, when there is one."""

    def __init__(self, text, run=None):
        super().__init__(text)
        self.run = run


def essential(error):
    """The sentences of an OpenVINO exception without its 'Exception from file:line' lines."""
    lines = [ln.strip() for ln in str(error).splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith("Exception from ")]
    return " ".join(kept) or str(error).strip() or type(error).__name__


class Interrupted(Exception):
    """Ctrl+C before the first request: nothing was run or written; exit code 130."""


def closed_pipe(error):
    """Whether ``error`` is a write to a pipe whose reader has gone (``... | head``):
    BrokenPipeError, or on Windows often EINVAL instead."""
    return isinstance(error, BrokenPipeError) or (
        sys.platform == "win32" and getattr(error, "errno", None) == errno.EINVAL)


def silence_stdout():
    """Send what is still to be printed to the null device: the reader has gone, and the
    interpreter's last flush must not fail either."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def outlive_reader(write):
    """Call ``write()``; if the reader of the output has gone (a closed pipe), silence
    standard output from then on and return False instead of raising."""
    try:
        write()
        return True
    except OSError as e:
        if not closed_pipe(e):
            raise
        silence_stdout()
        return False


def say(*args, **kwargs):
    """``print`` that outlives its reader: once the pipe is closed the run goes on silently
    and still writes its results."""
    outlive_reader(lambda: print(*args, **kwargs))
