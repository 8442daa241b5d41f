"""The classification prompt, written as data: a system message (role, rules, taxonomy) + the comment as user.

The model's own chat template renders the messages, so the same records train and evaluate any chat model.
The format is documented in README.md ("The prompt").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

from voc.taxonomy import Taxonomy

SYSTEM_TEMPLATE = """\
You are a strict customer-experience classifier. The customer comment may be in any language.
Split it into non-overlapping segments, one issue each, that together cover all of its content.
Label each segment with one path from the taxonomy below, using only these labels exactly as written, \
and with its emotion: positive, negative or neutral.
Reply with only a JSON array of objects with the keys {keys}. "content" is the segment copied verbatim.

Taxonomy ({shape}):
{taxonomy}"""

TAXONOMY_MODES = ("names", "full")


def render_taxonomy(taxonomy: Taxonomy, mode: str = "names") -> str:
    """Compact rendering. `names`: one line per parent path listing its leaves; `full`: one line per leaf with
    its description (longer prompt, more guidance)."""
    if mode not in TAXONOMY_MODES:
        raise ValueError(f"prompt.taxonomy must be one of {TAXONOMY_MODES}, got {mode!r}")
    if mode == "full":
        return "\n".join(f"{' > '.join(leaf)}: {taxonomy.descriptions.get(leaf, '')}" for leaf in taxonomy.leaves)
    lines = []
    for parent, group in groupby(taxonomy.leaves, key=lambda leaf: leaf[:-1]):
        leaves = " | ".join(leaf[-1] for leaf in group)
        lines.append(f"{' > '.join(parent)}: {leaves}" if parent else leaves)
    return "\n".join(lines)


def system_prompt(taxonomy: Taxonomy, mode: str = "names") -> str:
    keys = ", ".join(json.dumps(k) for k in ("content", *taxonomy.levels, "emotion"))
    levels = list(taxonomy.levels)
    shape = " > ".join(levels) if mode == "full" or len(levels) == 1 else f"{' > '.join(levels[:-1])}: {levels[-1]}"
    return SYSTEM_TEMPLATE.format(keys=keys, shape=shape, taxonomy=render_taxonomy(taxonomy, mode))


def target_json(segments: Sequence[dict], levels: Sequence[str]) -> str:
    """The gold answer: segments in comment order, keys in a fixed order, non-ASCII kept readable."""
    ordered = [{"content": s["content"], **{lv: s[lv] for lv in levels}, "emotion": s["emotion"]} for s in segments]
    return json.dumps(ordered, ensure_ascii=False)


def build_messages(text: str, system: str, segments: Sequence[dict] | None = None,
                   levels: Sequence[str] = ()) -> list[dict]:
    """Chat messages for one comment; with `segments`, the gold answer is appended as the assistant turn."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    if segments is not None:
        messages.append({"role": "assistant", "content": target_json(segments, levels)})
    return messages
