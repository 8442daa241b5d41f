"""Taxonomy-constrained decoding: the grammar admits exactly the real leaf paths and the three emotions; a
random-weights model's constrained replies always parse into taxonomy leaves; each row keeps its own parse state
under batching; the constraint composes with the shared-prefix cache; without it nothing changes."""

from __future__ import annotations

import json

import llguidance
import llguidance.hf
import pytest
import torch

import voc.model.constrained as constrained_mod
import voc.model.generate as generate_mod
from voc.core.errors import VocError
from voc.core.taxonomy import Taxonomy
from voc.data.comments import EMOTIONS
from voc.data.prompt import target_json
from voc.eval.parsing import INVALID
from voc.eval.predictions import parse_row
from voc.model.constrained import TaxonomyConstraint, banned, content_budget, lark_grammar
from voc.model.generate import generate_outputs_with_hits, generate_with_hits, reference_generate_with_hits
from voc.model.stopping import eos_ids

TAXONOMY = Taxonomy(levels=("L1", "L2", "L3"), leaves=(
    ("App", "Login", "Password"), ("App", "Login", "Two-Factor"), ("App", "Crash", "Launch"),
    ("Delivery", "Speed", "Late"), ("Qualité \"pro\"", "Son\\Bild", "Bruit"), ("Delivery", "Login", "Courier")))


def _accepts(tok, text: str, taxonomy: Taxonomy = TAXONOMY) -> bool:
    """Whether the grammar takes `text` as a whole reply (the tokens as the tokenizer writes them)."""
    matcher = llguidance.LLMatcher(llguidance.hf.from_tokenizer(tok), lark_grammar(taxonomy, 50), log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return matcher.try_consume_tokens(ids) == len(ids) and matcher.is_accepting()


def _segment(leaf, emotion="negative", content="the app \"crashes\" ] }") -> dict:
    return {"content": content, **dict(zip(TAXONOMY.levels, leaf, strict=True)), "emotion": emotion}


def test_the_grammar_admits_every_leaf_path_and_only_those(sharp_model):
    tok = sharp_model[1]
    for leaf in TAXONOMY.leaves:  # every leaf, every emotion, several segments, quotes and backslashes in labels
        segs = [_segment(leaf, e) for e in EMOTIONS]
        assert _accepts(tok, target_json(segs, TAXONOMY.levels)), leaf
    wrong = [("App", "Speed", "Late"),  # L2 of another L1
             ("Delivery", "Login", "Password"),  # an L2 name that exists here, with a leaf of App/Login
             ("App", "Login"), ("Delivery", "Speed", "Late", "x")]
    for path in wrong:
        seg = {"content": "x", **{f"L{i + 1}": n for i, n in enumerate(path)}, "emotion": "negative"}
        assert not _accepts(tok, json.dumps([seg], ensure_ascii=False)), path
    assert not _accepts(tok, target_json([_segment(TAXONOMY.leaves[0], "angry")], TAXONOMY.levels))
    assert not _accepts(tok, "[]") and not _accepts(tok, "Sure! " + target_json([_segment(TAXONOMY.leaves[0])],
                                                                                   TAXONOMY.levels))


def test_a_one_level_taxonomy_has_a_grammar_too(sharp_model):
    flat = Taxonomy(levels=("L1",), leaves=(("Price",), ("Speed",)))
    tok = sharp_model[1]
    assert _accepts(tok, '[{"content": "cheap", "L1": "Price", "emotion": "positive"}]', flat)
    assert not _accepts(tok, '[{"content": "cheap", "L1": "Cost", "emotion": "positive"}]', flat)


@pytest.mark.parametrize("vocab", [50, 64, 400])
def test_the_packed_mask_unpacks_to_the_tokens_it_bans(vocab):
    bitmask = torch.randint(-2**31, 2**31 - 1, (3, (vocab + 31) // 32), dtype=torch.int32,
                            generator=torch.Generator().manual_seed(vocab))
    bit = [[bool(int(bitmask[r, t // 32]) >> (t % 32) & 1) for t in range(vocab)] for r in range(3)]
    assert banned(bitmask, vocab).tolist() == [[not b for b in row] for row in bit]


def _check_replies(replies: list[str]) -> None:
    for reply in replies:
        parsed = parse_row(reply, TAXONOMY)
        assert parsed.status not in INVALID and parsed.segments, reply
        for seg in parsed.segments:
            assert TAXONOMY.has_path(tuple(seg.get(lv, "") for lv in TAXONOMY.levels)), seg
            assert seg["emotion"] in EMOTIONS and set(seg) == {"content", *TAXONOMY.levels, "emotion"}


@pytest.mark.parametrize("max_new_tokens", [110, 200])
def test_a_random_models_constrained_replies_always_parse_into_taxonomy_leaves(sharp_model, shared_prompts,
                                                                              max_new_tokens):
    model, tok = sharp_model
    free, _ = generate_with_hits(model, tok, shared_prompts, max_new_tokens, batch_size=4, stop_at_array_end=True)
    assert all(parse_row(r, TAXONOMY).status in INVALID for r in free)  # the test has teeth: unconstrained, noise
    replies, hits = generate_with_hits(model, tok, shared_prompts, max_new_tokens, batch_size=4,
                                       stop_at_array_end=True, constrain=TAXONOMY)
    _check_replies(replies)  # even a reply cut by the limit keeps its first, whole segment
    assert len({r for r in replies}) > 1


def test_each_row_keeps_its_own_matcher_under_batching(sharp_model, shared_prompts):
    model, tok = sharp_model
    batched = generate_with_hits(model, tok, shared_prompts, 150, batch_size=6, constrain=TAXONOMY)
    alone = [generate_with_hits(model, tok, [p], 150, batch_size=1, constrain=TAXONOMY) for p in shared_prompts]
    assert batched == ([a[0][0] for a in alone], [a[1][0] for a in alone])
    assert len(set(batched[0])) > 1  # rows differ, so a shared or swapped state would show


def _plain_constrained(model, tok, prompt: str, max_new_tokens: int) -> str:
    """The constraint on a plain greedy loop that re-reads the whole sequence each step (no cache at all)."""
    hook, stop = TaxonomyConstraint(tok, TAXONOMY, max_new_tokens, eos_ids(model)), eos_ids(model)
    ids, new = tok(prompt, add_special_tokens=False)["input_ids"], []
    with torch.inference_mode():
        while len(new) < max_new_tokens:
            logits = model(input_ids=torch.tensor([ids + new])).logits[:, -1, :]
            new.append(int(hook([0], [new], logits).argmax(-1)))
            if new[-1] in stop:
                break
    return tok.decode(new, skip_special_tokens=True).strip()


def test_the_constraint_composes_with_the_shared_prefix_cache(sharp_model, shared_prompts):
    model, tok = sharp_model
    prompts = shared_prompts[:3]  # suffixes of different lengths: left padding inside the batch
    cached, _ = generate_with_hits(model, tok, prompts, 150, batch_size=3, constrain=TAXONOMY)
    assert cached == [_plain_constrained(model, tok, p, 150) for p in prompts]


def test_without_the_constraint_replies_are_the_references(sharp_model, shared_prompts, monkeypatch):
    model, tok = sharp_model
    monkeypatch.setattr(constrained_mod, "TaxonomyConstraint", None)  # never built when not asked for
    got = generate_with_hits(model, tok, shared_prompts, 20, batch_size=4, constrain=None)
    assert got == reference_generate_with_hits(model, tok, shared_prompts, 20, batch_size=4)


def test_what_constrained_decoding_cannot_do_is_refused_with_the_fix(sharp_model, shared_prompts, monkeypatch):
    model, tok = sharp_model
    with pytest.raises(VocError, match="max_new_tokens is 20.*raise eval.max_new_tokens"):
        content_budget(TAXONOMY, 20, tok)
    with pytest.raises(VocError, match="backend hf only"):
        generate_outputs_with_hits("vllm", "unused", [], 64, 1, constrain=TAXONOMY)
    monkeypatch.setattr(generate_mod, "supports_shared_prefix", lambda m: False)
    with pytest.raises(VocError, match="eval.constrained: false"):
        generate_with_hits(model, tok, shared_prompts, 64, constrain=TAXONOMY)
