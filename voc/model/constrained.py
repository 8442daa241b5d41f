"""Taxonomy-constrained decoding (`eval.constrained`, `voc classify --constrained`): the reply must be a JSON array
of segment objects in the gold answer's exact layout (`voc.data.prompt.target_json`), whose level fields form a
real leaf path (L2 a child of L1, ...) and whose emotion is one of the three values; `content` is free text.

Why: the published prompt demands labels from the taxonomy, but a small model invents labels (the demo's SFT model
put 55 % of its segments outside it) and the base model writes no JSON at all, so without a constraint the
base-vs-SFT comparison measures formatting. The grammar is built from the taxonomy tree (one rule per inner node,
so its size grows with the number of nodes, not paths) and enforced by llguidance, chosen over xgrammar by the side
by side measurement in `benchmarks/micro/constrained.py` (BENCHMARKS.md).

`TaxonomyConstraint` is a `voc.model.decode.LogitsHook`: each prompt gets its own matcher (a copy of one compiled
matcher), so rows of a batch and rows that leave it never share a parse state, and the shared-prefix cache is
untouched (only the scores are edited).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import llguidance
import llguidance.hf
import llguidance.torch
import numpy as np
import torch

from voc.core.errors import VocError
from voc.core.taxonomy import Taxonomy
from voc.data.comments import EMOTIONS
from voc.data.prompt import group_by_head

OPEN = '[{"content": "'
CLOSE_MARGIN = 8  # tokens: a label written in more pieces than the tokenizer's own, and the content's last token
# a JSON string's body: any character but a quote, a backslash or a control character, or an escape (JSON's
# escaped slash is left out: a `/` would end the Lark regex, and a plain `/` says the same)
STRING_BODY = r'([^"\\\x00-\x1f]|\\["\\bfnrt]|\\u[0-9a-fA-F]{4})*'


def _lit(text: str) -> str:
    """A grammar string literal for `text` (JSON escaping, which both Lark and GBNF-style EBNF read)."""
    return json.dumps(text, ensure_ascii=False)


def _path_rules(leaves: Sequence[tuple[str, ...]], levels: Sequence[str], rules: list[tuple[str, str]]) -> str:
    """The alternatives for the paths below one node, adding one rule per inner child to `rules`. A key is
    written with its value (`"L1": "App", `), so every alternative starts with a distinct literal."""
    alts = []
    for head, rest in group_by_head(leaves).items():
        field = f'"{levels[0]}": {json.dumps(head, ensure_ascii=False)}'
        if not rest[0]:
            alts.append(_lit(field))
            continue
        index = len(rules)
        rules.append(("", ""))  # reserved, so a parent's rule precedes its children's
        rules[index] = (f"n{index}", _path_rules(rest, levels[1:], rules))
        alts.append(f"{_lit(field + ', ')} n{index}")
    return " | ".join(alts)


def grammar_rules(taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """The grammar as `(name, body)` rules in the syntax Lark and GBNF share (literals, names, `|`, groups); the
    first is the start rule. `text` (a JSON string's body) is left to each syntax to define."""
    rules: list[tuple[str, str]] = []
    path = _path_rules(taxonomy.leaves, taxonomy.levels, rules)
    emotion = " | ".join(_lit(json.dumps(e)) for e in EMOTIONS)
    seg = " ".join([_lit(OPEN[1:]), "text", _lit('", '), "path", _lit(', "emotion": '), "emotion", _lit("}")])
    return [("start", f'"[" seg ({_lit(", ")} seg)* "]"'), ("seg", seg), ("path", path), ("emotion", emotion),
            *rules]


def lark_grammar(taxonomy: Taxonomy, content_tokens: int) -> str:
    """The llguidance (Lark) grammar; `content` is cut at `content_tokens` tokens (see `content_budget`)."""
    lines = [f"{name}: {body}" for name, body in grammar_rules(taxonomy)]
    lines.append(f"text[max_tokens={content_tokens}]: /{STRING_BODY}/")
    return "\n".join(lines) + "\n"


def _close(levels: Sequence[str], leaf: Sequence[str]) -> str:
    """What follows the first segment's content at most: its labels, the longest emotion, the array's close."""
    fields = ", ".join(f'"{lv}": {json.dumps(name, ensure_ascii=False)}' for lv, name in zip(levels, leaf, strict=True))
    return f'", {fields}, "emotion": {json.dumps(max(EMOTIONS, key=len))}}}]'


def content_budget(taxonomy: Taxonomy, max_new_tokens: int, tokenizer) -> int:
    """Tokens left for the first segment's `content` once its opening and its longest possible close (labels,
    emotion, `}]`, as the tokenizer writes them, plus a margin) are set aside: so a reply that rambles in its
    content is cut there and still ends with a whole, parseable, labelled segment within `max_new_tokens`. (A
    byte per token would bound any tokenisation, but leaves no content at all for the MEMD laptop profile's 96
    tokens; a model that spells labels out in fragments can still be cut, and the parser keeps whole segments.)"""
    closes = tokenizer([_close(taxonomy.levels, leaf) for leaf in taxonomy.leaves], add_special_tokens=False)
    close = max(map(len, closes["input_ids"])) + CLOSE_MARGIN
    budget = max_new_tokens - len(tokenizer(OPEN, add_special_tokens=False)["input_ids"]) - close
    if budget < 1:
        raise VocError(f"constrained decoding needs about {max_new_tokens - budget + 1} new tokens for one segment "
                       f"of this taxonomy, but max_new_tokens is {max_new_tokens}. Fix: raise eval.max_new_tokens "
                       "(or voc classify --max-new-tokens), or set eval.constrained: false")
    return budget


class TaxonomyConstraint:
    """A `LogitsHook` that masks every token the grammar does not allow next, one matcher per prompt."""

    def __init__(self, tokenizer, taxonomy: Taxonomy, max_new_tokens: int, stop_ids: set[int]) -> None:
        self.hf_tokenizer, self.stop_ids = tokenizer, sorted(stop_ids)
        self.grammar = lark_grammar(taxonomy, content_budget(taxonomy, max_new_tokens, tokenizer))
        self.compiled: llguidance.LLMatcher | None = None
        self.matchers: dict[int, tuple[llguidance.LLMatcher, list[int]]] = {}

    def _compile(self, vocab: int) -> llguidance.LLMatcher:
        """Compile once, for the model's logits width (it may exceed the tokenizer's vocabulary)."""
        tok = llguidance.hf.from_tokenizer(self.hf_tokenizer, n_vocab=vocab, eos_token=self.stop_ids)
        matcher = llguidance.LLMatcher(tok, self.grammar, log_level=0)
        if matcher.is_error():
            raise VocError(f"the taxonomy grammar does not compile: {matcher.get_error()}. Fix: report it (a label "
                           "the grammar writer does not escape), or set eval.constrained: false")
        return matcher

    def _advance(self, row: int, generated: list[int]) -> llguidance.LLMatcher:
        """The row's matcher, fed the tokens it was given since the last step."""
        matcher, fed = self.matchers.setdefault(row, (self.compiled.deep_copy(), []))
        new = generated[len(fed):]
        if new and not matcher.consume_tokens(new):
            raise VocError(f"prompt #{row}: the decoder chose a token the grammar had masked ({matcher.get_error()})."
                           " Fix: report it, a bug in constrained decoding")
        fed.extend(new)
        return matcher

    def __call__(self, rows: list[int], generated: list[list[int]], scores: torch.Tensor) -> torch.Tensor:
        if self.compiled is None:
            self.compiled = self._compile(scores.shape[-1])
        bitmask = llguidance.torch.allocate_token_bitmask(len(rows), scores.shape[-1])
        for j, (row, toks) in enumerate(zip(rows, generated, strict=True)):
            llguidance.torch.fill_next_token_bitmask(self._advance(row, toks), bitmask, j)
        return scores.masked_fill_(banned(bitmask, scores.shape[-1]).to(scores.device), float("-inf"))


def banned(bitmask: torch.Tensor, vocab: int) -> torch.Tensor:
    """The tokens a packed bitmask `[rows, ceil(vocab/32)]` forbids (bit b of word w allows token 32w+b), as
    booleans `[rows, vocab]`. Its bytes are little-endian, so numpy's `unpackbits` reads them in token order in one
    C pass; llguidance's own `apply_token_bitmask_inplace` goes through `torch.compile`, which on CPU needs a C++
    toolchain and a warm-up."""
    bits = np.unpackbits(~bitmask.numpy().view(np.uint8), axis=-1, bitorder="little")
    return torch.from_numpy(bits).view(torch.bool)[:, :vocab]
