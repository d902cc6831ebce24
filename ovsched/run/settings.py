"""Command-line overrides of the settings at the top of a script.

Lower-case keys are run settings, parsed safely (``ast.literal_eval``) and checked
against the type of their default. Upper-case keys are OpenVINO properties, kept as
the text the user typed; an empty value removes the property.
"""

import ast
import difflib
import re
from dataclasses import dataclass, field

from ..errors import UsageError
from . import schema
from .schema import (DEFAULT_MODEL, MAX_INTERVAL_MS, MAX_NIREQ, MAX_NITER,  # noqa: F401
                     NITER_MEMORY_KB)

RUN_KEYS = tuple(s.name for s in schema.SETTINGS if s.required)
# Settings added after the first release, with the value a script that does not define
# them gets: an older copy of a script keeps working.
LATER_KEYS = {s.name: s.default for s in schema.SETTINGS if not s.required}
ALL_KEYS = tuple(s.name for s in schema.SETTINGS)
WHOLE_NUMBERS = tuple(s.name for s in schema.SETTINGS if s.type is int)

PROPERTY_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SETTING_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
TRUE_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}


def _closest(word, choices):
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def parse_value(key, text, default):
    """Turn the text of ``--key=text`` into a value of the default's type."""
    if isinstance(default, bool):
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return TRUE_WORDS[word]
        raise UsageError(f"--{key} takes True or False, not {text!r}")
    if isinstance(default, str):
        return text
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    kind = "int" if key in WHOLE_NUMBERS else type(default).__name__
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key in WHOLE_NUMBERS:
            if isinstance(value, int):
                return value
        else:
            # Any number for a number setting: `interval = 30` typed at the top of a
            # script must still accept --interval=12.5.
            return float(value) if isinstance(default, float) else value
    example = "30" if kind == "int" else "30.0"
    raise UsageError(f"--{key} takes {'an' if kind == 'int' else 'a'} {kind} "
                     f"(e.g. --{key}={example}), not {text!r}")


def _unreadable(word):
    bare = word.lstrip("-")
    key = bare.split("=", 1)[0]
    if WORD.fullmatch(key) and "=" in bare:
        return f"cannot read argument {word!r}: overrides start with two dashes, e.g. --{bare}"
    if WORD.fullmatch(key):
        return f"cannot read argument {word!r}: give it a value, e.g. --{key}=VALUE"
    return f"cannot read argument {word!r}: write overrides as --key=value (see --help)"


def split_args(argv):
    """Split ``--key=value`` words into an ordered list of (key, value); refuse anything else."""
    pairs = []
    seen = {}
    for word in argv:
        if not word.startswith("--") or "=" not in word:
            raise UsageError(_unreadable(word))
        key, value = word[2:].split("=", 1)
        if not WORD.fullmatch(key):
            raise UsageError(f"cannot read key {key!r} in {word!r}: keys are letters, digits "
                             f"and _, e.g. --niter=40 (see --help)")
        if key in seen:
            raise UsageError(f"--{key} given twice ({seen[key]!r} and {value!r}): give it once")
        seen[key] = value
        pairs.append((key, value))
    return pairs


def apply_overrides(pairs, settings, properties):
    """Return new (settings, properties) with the (key, text) pairs applied."""
    settings = dict(settings)
    properties = dict(properties)
    for key, text in pairs:
        if PROPERTY_KEY.fullmatch(key):
            if text == "":
                properties.pop(key, None)
            else:
                properties[key] = text
        elif key in settings:
            settings[key] = parse_value(key, text, settings[key])
        else:
            valid = ", ".join(sorted(settings))
            kind = "setting" if SETTING_KEY.fullmatch(key) else "key"
            raise UsageError(f"unknown {kind} --{key}{_closest(key, settings)}; run settings are "
                             f"{valid}, and OpenVINO properties are UPPER_CASE")
    return settings, properties


def setting_comments(script_path):
    """Map each top-level ``name = value  # comment`` line of a script to its comment."""
    comments = {}
    pattern = re.compile(r"^([a-z_][a-z0-9_]*)\s*=.*?#\s*(.+)$")
    quoted = re.compile(r"""^\s*["']([A-Z0-9_]+)["']\s*:.*?#\s*(.+)$""")
    try:
        with open(script_path, encoding="utf-8") as f:
            for line in f:
                m = pattern.match(line) or quoted.match(line)
                if m:
                    comments.setdefault(m.group(1), m.group(2).strip())
    except OSError:
        pass
    return comments


def script_settings(namespace):
    """The run settings a script defines at its top, with defaults for later ones."""
    missing = [k for k in RUN_KEYS if k not in namespace]
    if missing:
        raise KeyError(missing[0])
    # in the block's order, so that --help lists them as the script does
    return {k: namespace[k] if k in RUN_KEYS else namespace.get(k, LATER_KEYS[k])
            for k in ALL_KEYS}


def check_settings(s):
    """Refuse settings no run can use, before anything is loaded (the schema's checks)."""
    for key, value in LATER_KEYS.items():
        s.setdefault(key, value)
    for setting in schema.SETTINGS:
        key = setting.name
        if setting.type is int and isinstance(s[key], float):
            if not s[key].is_integer():
                raise UsageError(f"--{key}={s[key]:g}: give a whole number, e.g. --{key}=30")
            s[key] = int(s[key])
        elif setting.type is float:
            s[key] = float(s[key])
    for setting in schema.SETTINGS:
        if setting.check is not None:
            s[setting.name] = setting.check(s[setting.name])
    return s


@dataclass
class Resolved:
    """The settings and properties a run uses, and where they came from."""

    settings: dict
    properties: dict
    preset: str = None
    preset_about: str = None
    preset_note: str = None
    given: set = field(default_factory=set)  # keys the command line or the preset set

    @property
    def model_given(self):
        return "model" in self.given


def apply_preset(name, presets, settings, properties, has_gpu):
    """Load a preset over the defaults; return the note on what stands in for a GPU."""
    if name not in presets:
        raise UsageError(f"unknown preset {name!r}; presets are "
                         f"{', '.join(presets) or 'none'} (see --help)")
    preset = presets[name]
    settings.update(preset.get("settings", {}))
    note = None
    if "no_gpu" in preset and not has_gpu():
        settings["device"] = preset["no_gpu"]["device"]
        note = preset["no_gpu"]["why"]
    properties.update(preset.get("properties", {}))
    for key in preset.get("remove", ()):
        properties.pop(key, None)
    return note


def resolve(argv, defaults, properties, presets=None, has_gpu=lambda: False):
    """The settings stage: defaults, then ``--preset``, then the ``--key=value`` overrides."""
    presets = presets or {}
    pairs = split_args(argv)
    preset = next((v for k, v in pairs if k == "preset"), None)
    pairs = [(k, v) for k, v in pairs if k != "preset"]
    settings, props = dict(defaults), dict(properties)
    note = None
    given = set()
    if preset is not None:
        note = apply_preset(preset, presets, settings, props, has_gpu)
        given |= set(presets[preset].get("settings", {}))
    settings, props = apply_overrides(pairs, settings, props)
    given |= {k for k, _ in pairs}
    if note and "device" in {k for k, _ in pairs}:
        note = None  # the user chose the device: the preset's stand-in device is not used
    check_settings(settings)
    return Resolved(settings, props, preset, presets[preset]["about"] if preset else None,
                    note, given)
