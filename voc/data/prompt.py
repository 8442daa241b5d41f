"""The classification prompt, written as data: a system message (role, rules, taxonomy) + the comment as user.

The model's own chat template renders the messages, so the same records train and evaluate any chat model.
The format is documented in README.md ("The prompt").
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from voc.core.taxonomy import Taxonomy

INSTRUCTIONS = """\
You are a strict customer-experience classifier. The comment may be in any language. \
Split it into non-overlapping segments, one issue each, covering all of it. \
Label each segment with {labels}, and an emotion (positive, negative, neutral). \
Reply with only a JSON array of objects with keys {keys}; "content" is copied verbatim."""

WITH_TAXONOMY = INSTRUCTIONS.replace("{labels}", "a taxonomy path, using only these labels") + """

Taxonomy ({shape}):
{taxonomy}"""

# `none`: the instructions only. A fine-tuned model learns the labels from its answers, so the taxonomy (most of
# the prompt, about 10k tokens at 1,420 leaves) need not be re-read for every comment.
LEARNED = INSTRUCTIONS.replace("{labels}", "a path of the taxonomy you were trained on ({shape})")

TAXONOMY_MODES = ("names", "full", "none")


def group_by_head(leaves: Sequence[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Leaves grouped by their first name, in order of first appearance: taxonomy rows need not be sorted, and
    an unsorted file must not write one parent twice (a sorted file renders exactly as rows are listed)."""
    groups: dict[str, list[tuple[str, ...]]] = {}
    for leaf in leaves:
        groups.setdefault(leaf[0], []).append(leaf[1:])
    return groups


def grouped(leaves: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Leaves reordered so that every parent's leaves are contiguous (parents in order of first appearance)."""
    return [(head, *r) for head, rest in group_by_head(leaves).items() for r in (grouped(rest) if rest[0] else rest)]


def render_tree(leaves: Sequence[tuple[str, ...]], indent: int = 0) -> list[str]:
    """Indented tree: each name is written once; the last two levels share a line (`Parent: leaf | leaf`)."""
    lines = []
    for head, rest in group_by_head(leaves).items():
        pad = " " * indent
        if not rest[0]:
            lines.append(pad + head)
        elif len(rest[0]) == 1:
            lines.append(f"{pad}{head}: {' | '.join(r[0] for r in rest)}")
        else:
            lines.append(pad + head)
            lines.extend(render_tree(rest, indent + 1))
    return lines


def render_taxonomy(taxonomy: Taxonomy, mode: str = "names") -> str:
    """Compact rendering. `names`: an indented tree, each label written once (fewest tokens); `full`: one line
    per leaf path with its description (longer prompt, more guidance)."""
    if mode not in TAXONOMY_MODES[:2]:
        raise ValueError(f"prompt.taxonomy must be one of {TAXONOMY_MODES[:2]} to render a taxonomy, got {mode!r}")
    if mode == "full":
        return "\n".join(f"{' > '.join(leaf)}: {taxonomy.descriptions.get(leaf, '')}"
                         for leaf in grouped(taxonomy.leaves))
    return "\n".join(render_tree(taxonomy.leaves))


def system_prompt(taxonomy: Taxonomy, mode: str = "names") -> str:
    """The system message for `prompt.taxonomy` = `mode`: the instructions, then (names, full) the taxonomy."""
    if mode not in TAXONOMY_MODES:
        raise ValueError(f"prompt.taxonomy must be one of {TAXONOMY_MODES}, got {mode!r}")
    keys = ", ".join(json.dumps(k) for k in ("content", *taxonomy.levels, "emotion"))
    levels = list(taxonomy.levels)
    if mode == "none":
        return LEARNED.format(keys=keys, shape=" > ".join(levels))
    if mode == "full" or len(levels) == 1:
        shape = " > ".join(levels)
    else:  # one indent per level; the last level follows its parent after a colon
        shape = ", ".join(levels[:-1]) + f" indented, {levels[-1]} after ':'"
    return WITH_TAXONOMY.format(keys=keys, shape=shape, taxonomy=render_taxonomy(taxonomy, mode))


def eval_prompts(records: Sequence[dict], taxonomy: Taxonomy, mode: str, learned: bool) -> list[list[dict]]:
    """The records' messages without the gold answer. A model that has not learned the labels (the base model)
    is shown the taxonomy (`names`) even when the records were written with `none`: without it it can only guess,
    and the base-vs-SFT comparison would measure the prompt, not the training."""
    prompts = [r["messages"][:-1] for r in records]
    if mode != "none" or learned:
        return prompts
    system = {"role": "system", "content": system_prompt(taxonomy, "names")}
    return [[system, *(m for m in msgs if m["role"] != "system")] for msgs in prompts]


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
