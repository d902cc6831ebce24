"""Reading a model in any format OpenVINO reads, with a one-line reason when it cannot."""

import contextlib
import os
import re
import sys
import tempfile

import openvino as ov

from ..errors import UsageError, essential
from .models import READABLE, check_model_file

REASON_CHARS = 200  # how much of a frontend's own explanation a one-line error keeps


def short_version():
    """'2026.4.1' from OpenVINO's long build string."""
    return ov.get_version().split("-")[0]


def read_model_any(core, path):
    """Read a model in any format OpenVINO reads; a failure is one line."""
    check_model_file(path)  # missing, empty, a folder, broken IR XML, IR without .bin
    with _stderr_kept_on_success():
        try:
            return core.read_model(path)
        except Exception as e:  # RuntimeError mostly; its text spans many lines of internals
            raise UsageError(f"OpenVINO {short_version()} cannot read model {path}: "
                             f"{read_failure(str(e))}") from None


@contextlib.contextmanager
def _stderr_kept_on_success():
    """Hold back what the frontends write to the process's stderr while reading.

    Given a file it cannot read, OpenVINO tries each frontend in turn, and some write
    pages of parser errors straight to file descriptor 2. Replayed if reading succeeds,
    dropped when the failure is reported as one line instead."""
    try:
        sys.stderr.flush()
        fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. a GUI launcher)
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), fd)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            if not failed:
                held.seek(0)
                text = held.read()
                if text:
                    os.write(fd, text)


def read_failure(text):
    """One line from OpenVINO's read_model error: the first operation that failed, and why.

    Knows the texts of the frontends' conversion reports of 2024.6 and later; anything
    else is shortened to its sentences."""
    unsupported = re.search(r"No conversion rule found for operations?: *(.+)", text) \
        or re.search(r"does not support the following \w+ operations?: *(.+)", text)
    if unsupported:
        ops = [op.strip() for op in unsupported.group(1).split(",") if op.strip()]
        more = f" ({len(ops) - 1} more unsupported: {', '.join(ops[1:4])})" if ops[1:] else ""
        return (f"operation {ops[0]} has no conversion rule in this OpenVINO{more}; export the "
                f"model without it or try a newer OpenVINO")
    detailed = re.search(r"-- (\S+) with a message:\n(.*?)(?:\n\s*\n|\nSummary:|\Z)", text,
                         re.DOTALL)
    if detailed:
        return _failed_op(detailed.group(1), detailed.group(2))
    translation = re.search(r"Errors during \w+ translation:\n(.*?)(?:\n\s*\n|\Z)", text, re.DOTALL)
    if translation:
        node = re.search(r"<Node\((\w+)\)", translation.group(1))
        return _failed_op(node.group(1) if node else "unknown", translation.group(1))
    failed = re.search(r"Conversion is failed for: *([^\n,]+)", text)
    if failed:
        return f"operation {failed.group(1).strip()} failed to convert"
    unreadable = re.search(r"Unable to read the model: .*?(Please check .*?is supported)", text)
    if unreadable:
        return "no frontend recognises the file; is it a complete model in a format " \
               f"OpenVINO reads ({READABLE})?"
    lines = [ln for ln in text.splitlines() if not re.match(r"\s*(Exception from |Check '|"
                                                            r"FrontEnd API failed)", ln)]
    return clip(" ".join(ln.strip() for ln in lines if ln.strip()) or essential(text))


def _failed_op(op, message):
    """'operation Reshape failed to convert: <the frontend's last sentence>'."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    # The last line is the reason; earlier ones locate it in OpenVINO's own source.
    reason = re.sub(r"^While validating ONNX node '[^']*':\s*", "", lines[-1]) if lines else ""
    reason = re.sub(r"Check '.*?' failed at \S+:\s*", "", reason)
    return clip(f"operation {op} failed to convert" + (f": {reason}" if reason else ""))


def ov_reason(error):
    """An OpenVINO exception's own words, without where in OpenVINO's source it arose."""
    return clip(re.sub(r"Check '.*?' failed at \S+:\s*", "", essential(error)))


def clip(text):
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."
