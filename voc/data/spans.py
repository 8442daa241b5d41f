"""Where a segment's `content` sits in its comment, found leniently.

Real annotators copy a segment's words by hand: they drop a leading "und", capitalise the next word, fix a typo.
A strict `content in text` test loses such a segment (and, in the importers, its whole comment). Here a span is
located in three tries, each outcome counted by the caller so the grounding rate stays visible:

1. `verbatim`: `content` is a substring of `text`.
2. `relaxed`: equal once case, whitespace and punctuation are ignored on both sides.
3. `fuzzy`: the best partial match (rapidfuzz) scores at least `threshold` (0..1).
4. `not_found`: none of these; the segment is still kept, with the annotator's content.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

OUTCOMES = ("verbatim", "relaxed", "fuzzy", "not_found")
DEFAULT_THRESHOLD = 0.85


@dataclass(frozen=True)
class Span:
    """The outcome, and the located `text[start:end]` (None when not found)."""

    outcome: str
    start: int | None = None
    end: int | None = None
    score: float = 0.0


def _fold(s: str, keep=lambda ch: True) -> tuple[str, list[int]]:
    """`s` case-folded (only the characters `keep` accepts), with each folded character's index in `s`.

    Case-folding can change a string's length (German "ß" folds to "ss"), so positions found in the folded text
    are mapped back through this index, never used on `s` directly.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(s):
        if keep(ch):
            folded = ch.casefold()
            chars.append(folded)
            index.extend([i] * len(folded))
    return "".join(chars), index


def _relaxed(content: str, text: str) -> Span | None:
    needle, _ = _fold(content, str.isalnum)
    hay, index = _fold(text, str.isalnum)
    at = hay.find(needle) if needle else -1
    if at < 0:
        return None
    return Span("relaxed", index[at], index[at + len(needle) - 1] + 1, 1.0)


def _fuzzy(content: str, text: str, threshold: float) -> Span | None:
    needle, _ = _fold(content)
    hay, index = _fold(text)
    if not needle or len(needle) > len(hay):  # partial_ratio would align the text inside the content instead
        return None
    hit = fuzz.partial_ratio_alignment(needle, hay, score_cutoff=threshold * 100)
    if hit is None or hit.dest_end <= hit.dest_start:
        return None
    return Span("fuzzy", index[hit.dest_start], index[hit.dest_end - 1] + 1, round(hit.score / 100, 4))


def locate(content: str, text: str, threshold: float = DEFAULT_THRESHOLD) -> Span:
    """Find `content` in `text`: verbatim, then relaxed, then fuzzy (score >= threshold), else not_found."""
    at = text.find(content)
    if content and at >= 0:
        return Span("verbatim", at, at + len(content), 1.0)
    return _relaxed(content, text) or _fuzzy(content, text, threshold) or Span("not_found")
