"""--help: every setting and property with its default and comment, the presets, the devices."""

import re

from . import schema
from .settings import setting_comments

# Characters that every shell (POSIX, cmd.exe, PowerShell) passes on as they are; a word
# with anything else is printed in double quotes, which all three remove.
PLAIN_WORD = re.compile(r"^[A-Za-z0-9_.:/\\=+-]*$")


def shell_word(text):
    """``text`` as one word that pastes correctly into cmd.exe, PowerShell and POSIX shells."""
    return text if PLAIN_WORD.fullmatch(text) else f'"{text}"'


def override(key, value):
    """The ``--key=value`` word that sets ``value``: strings bare, numbers and bools as typed."""
    return shell_word(f"--{key}={value if isinstance(value, str) else repr(value)}")


def _rows(items, comments):
    words = [(override(k, v), comments.get(k, "")) for k, v in items]
    width = max((len(w) for w, _ in words), default=0) + 2
    return [f"  {w:<{width}}{c}".rstrip() for w, c in words]


def help_text(script, kind, settings, properties, presets, devices_line, version, usage=None):
    """--help: every setting and property with its default and comment, presets, devices.

    The comments are the schema's; a property the user added to the script's block shows
    the comment beside it there."""
    comments = {**setting_comments(script), **schema.comments(kind)}
    usage = usage or f"python {script_name(script)}"
    lines = [f"usage: {usage} [--key=value ...]", "",
             "Run settings (lower case):"]
    lines += _rows(settings.items(), comments)
    lines += ["", "OpenVINO properties for compile_model (UPPER_CASE; --KEY= removes one):"]
    lines += _rows(properties.items(), comments)
    if presets:
        lines += ["", "Presets (--preset=NAME; other overrides apply on top):"]
        lines += [f"  {name:<8} {preset['about']}" for name, preset in presets.items()]
    lines += ["", f"Devices on this machine: {devices_line} (plus AUTO, MULTI:..., "
              f"BATCH:DEVICE(N))", f"OpenVINO {version}"]
    return "\n".join(lines)


def script_name(path):
    return re.split(r"[\\/]", path)[-1]
