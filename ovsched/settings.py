"""Command-line overrides of the settings at the top of a script.

Lower-case keys are run settings, parsed safely (``ast.literal_eval``) and checked
against the type of their default. Upper-case keys are OpenVINO properties, kept as
the text the user typed; an empty value removes the property.
"""

import ast
import difflib
import re

PROPERTY_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SETTING_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
TRUE_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}


class UsageError(Exception):
    """Bad input. Its text is one line naming the problem and the fix; exit code 2."""


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
    kind = type(default).__name__
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    example = "30" if isinstance(default, int) else "30.0"
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
