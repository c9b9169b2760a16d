"""The small readers of plain values that attempt and trace reading build on.

Each reader takes the value, the path it sits at and the list of problems; it returns the
value read (or None) and adds a problem at that path when the value is wrong. `_MISSING`
stands for a field that is absent or, when optional, given as null. `_storable_text` and
`_storable` refuse what PostgreSQL cannot store: NUL characters, unpaired surrogates, values
that are not plain JSON.
"""

import math
import re

MAX_ID = 2**63 - 1  # the largest id a BigAutoField holds

_SURROGATE = re.compile("[\ud800-\udfff]")
_MISSING = object()


def field_path(path, name):
    return f"{path}.{name}" if path else name


def item_path(path, index):
    return f"{path}[{index}]"


def _storable_text(text):
    """False for text PostgreSQL cannot store: a NUL character or an unpaired surrogate."""
    # isascii() is a flag look-up in CPython: most text skips the search for surrogates.
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def _plain_json(value):
    kind = type(value)
    if kind is str:
        return _storable_text(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _storable_text(key) or not _plain_json(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _plain_json(item):
                return False
        return True
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is bool or kind is int


def _object(value, path, problems, fields):
    """The object at `path`, or None; every key outside `fields` is a problem of its own."""
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    for key in value:
        if key not in fields:
            problems.add(
                field_path(path, str(key)), f"unknown field; expected one of: {', '.join(fields)}"
            )
    return value


def _value(obj, name, path, problems, *, required=False):
    value = obj.get(name, _MISSING)
    if value is None and not required:
        return _MISSING
    if value is _MISSING and required:
        problems.add(field_path(path, name), "is required")
    return value


def _optional(value, read, path, problems):
    return None if value is _MISSING else read(value, path, problems)


def _bounded_list(value, path, problems, limit, what):
    if value is _MISSING:
        return None
    if not isinstance(value, list):
        problems.add(path, f"must be a list of {what}")
        return None
    if not value:
        problems.add(path, "must not be empty")
        return None
    if len(value) > limit:
        problems.add(path, f"has {len(value):,} {what}; at most {limit:,}")
        return None
    return value


def _boolean(value, path, problems):
    if value is _MISSING:
        return None
    if not isinstance(value, bool):
        problems.add(path, "must be true or false")
        return None
    return value


def _unit_number(value, path, problems):
    if value is _MISSING:
        return None
    # The comparison also refuses NaN and infinities, and works on integers of any size.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        problems.add(path, "must be a number between 0 and 1")
        return None
    return float(value)


def _id(value, path, problems):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        problems.add(path, "must be a positive integer id")
        return None
    return value


def _text(value, path, problems, *, max_chars):
    if not isinstance(value, str):
        problems.add(path, "must be a string")
        return None
    if max_chars is not None and len(value) > max_chars:
        problems.add(path, f"must be at most {max_chars:,} characters")
        return None
    if not _storable_text(value):
        problems.add(path, "must not contain NUL characters or unpaired surrogates")
        return None
    return value


def _non_empty_text(value, path, problems, *, max_chars):
    if value is _MISSING:
        return None
    text = _text(value, path, problems, max_chars=max_chars)
    if text is not None and not text.strip():
        problems.add(path, "must not be empty")
        return None
    return text


def _json_object(value, path, problems):
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    return value if _storable(value, path, problems) else None


def _storable(value, path, problems):
    """True when `value` is plain JSON that PostgreSQL can store; else reports where not."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        if math.isfinite(value):
            return True
        problems.add(path, "must be a finite number")
        return False
    if isinstance(value, str):
        return _text(value, path, problems, max_chars=None) is not None
    if isinstance(value, list):
        return all(
            [_storable(item, item_path(path, index), problems) for index, item in enumerate(value)]
        )
    if isinstance(value, dict):
        storable = True
        for key, item in value.items():
            if not isinstance(key, str) or not _storable_text(key):
                problems.add(path, f"has a key that cannot be stored: {key!r}")
                storable = False
            elif not _storable(item, field_path(path, key), problems):
                storable = False
        return storable
    problems.add(path, f"must be plain JSON, not {type(value).__name__}")
    return False
