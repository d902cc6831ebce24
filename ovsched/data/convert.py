"""Dataclasses to plain JSON values and back, generically: the summary's parts need no
conversion code of their own (see ``parts``)."""

import math
import typing
from dataclasses import fields, is_dataclass

import numpy as np

EXTRA = "extra"


def to_json(value):
    """Plain JSON values (dict, list, str, number, bool, None) of ``value``: dataclasses by
    their fields in order (then their ``extra``), numpy scalars as Python numbers, NaN and
    infinities as None, anything else unknown as its text."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            if f.name == EXTRA or not f.metadata.get("saved", True):
                continue
            item = getattr(value, f.name)
            if item is None and f.metadata.get("only_when_known"):
                continue  # a key that is there only when it says something
            out[f.metadata.get("key", f.name)] = to_json(item)
        for k, v in (getattr(value, EXTRA, None) or {}).items():
            out.setdefault(str(k), to_json(v))
        return out
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_json(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def from_json(kind, data):
    """``data`` (plain JSON values) as ``kind``: a dataclass, ``List[X]``, ``Dict[str, X]``,
    ``Optional[X]`` or a plain type (taken as it is). A dataclass gets the fields its keys
    name, None for the others, and keeps unknown keys in ``extra``."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin is typing.Union:
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return from_json(options[0], data) if len(options) == 1 else data
    if origin in (list, tuple):
        (item,) = typing.get_args(kind)[:1] or (typing.Any,)
        return [from_json(item, v) for v in data] if isinstance(data, list) else data
    if origin is dict:
        item = typing.get_args(kind)[1] if typing.get_args(kind) else typing.Any
        return {k: from_json(item, v) for k, v in data.items()} if isinstance(data, dict) \
            else data
    if isinstance(kind, type) and is_dataclass(kind):
        if not isinstance(data, dict):
            raise ValueError(f"{kind.__name__} should be a JSON object, not {data!r:.40}")
        hints = _hints(kind)
        known, values = set(), {}
        for f in fields(kind):
            key = f.metadata.get("key", f.name)
            if f.name == EXTRA or not f.metadata.get("saved", True):
                continue
            known.add(key)
            if key in data:
                values[f.name] = from_json(hints[f.name], data[key])
        extra = {k: v for k, v in data.items() if k not in known}
        if extra and any(f.name == EXTRA for f in fields(kind)):
            values[EXTRA] = extra
        return kind(**values)
    return data


_HINTS = {}


def _hints(kind):
    if kind not in _HINTS:
        _HINTS[kind] = typing.get_type_hints(kind)
    return _HINTS[kind]
