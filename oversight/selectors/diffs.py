"""Inline word diffs, as the review, history and release pages show them."""

import difflib
import re
from dataclasses import dataclass

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    op: str  # "equal", "insert" or "delete"
    text: str


def word_diff(old, new):
    """An inline word diff of two texts: segments to show as they are, inserted or deleted."""
    before, after = TOKEN.findall(old or ""), TOKEN.findall(new or "")
    segments = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("equal", "".join(before[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("delete", "".join(before[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(Segment("insert", "".join(after[j1:j2])))
    return segments


def text_changed(segments):
    return any(segment.op != "equal" for segment in segments)
