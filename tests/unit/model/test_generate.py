"""The HF backend's shared-prefix decoding gives today's greedy replies (reference: one `model.generate` per
batch of whole prompts), and a prompt that cannot fit the model's context is refused with the fix."""

from __future__ import annotations

import pytest

import voc.model.generate as generate_mod
from voc.core.errors import VocError
from voc.model.generate import check_context, generate_with_hits, reference_generate_with_hits


def test_shared_prefix_replies_equal_the_reference(sharp_model, shared_prompts):
    model, tok = sharp_model
    lengths = {len(ids) for ids in tok(shared_prompts, add_special_tokens=False)["input_ids"]}
    assert len(lengths) >= 4  # suffixes of different lengths: left padding inside every batch
    got = generate_with_hits(model, tok, shared_prompts, max_new_tokens=20, batch_size=4)
    ref = reference_generate_with_hits(model, tok, shared_prompts, max_new_tokens=20, batch_size=4)
    assert got == ref
    assert len(set(got[0])) == len(shared_prompts)  # replies differ: the test can see a wrong cache or mask
    assert model.config._attn_implementation == "sdpa"  # the model's own attention is restored


def test_rows_that_end_early_match_the_reference(sharp_model, shared_prompts):
    """Rows end at different steps (a common mid-reply token made EOS) and leave their batch; the others go on."""
    model, tok = sharp_model
    ref_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in
               reference_generate_with_hits(model, tok, shared_prompts, 20, batch_size=6)[0]]
    counts = {}
    for ids in ref_ids:
        for t in set(ids[2:]):
            counts[t] = counts.get(t, 0) + 1
    model.generation_config.eos_token_id = max(counts, key=counts.get)
    got = generate_with_hits(model, tok, shared_prompts, max_new_tokens=20, batch_size=6)
    ref = reference_generate_with_hits(model, tok, shared_prompts, max_new_tokens=20, batch_size=6)
    assert got == ref
    assert 0 < sum(got[1]) < len(shared_prompts)  # some rows stopped early, some ran to the limit


def test_prompts_without_a_common_prefix_match_the_reference(sharp_model):
    model, tok = sharp_model
    prompts = ["The camera", "crash", "Night vision is blurry and the app keeps crashing"]
    assert len({tok(p, add_special_tokens=False)["input_ids"][0] for p in prompts}) == 3
    assert generate_with_hits(model, tok, prompts, 12, batch_size=2) == \
        reference_generate_with_hits(model, tok, prompts, 12, batch_size=2)


def test_a_model_the_split_attention_cannot_serve_takes_the_reference_path(sharp_model, shared_prompts,
                                                                          monkeypatch):
    model, tok = sharp_model
    model.config.sliding_window = 8  # a sliding window: the shared prefix would be attended to past it

    def refuse(*args, **kwargs):
        raise AssertionError("shared-prefix decoding used on a sliding-window model")

    monkeypatch.setattr(generate_mod, "generate_shared_prefix", refuse)
    assert generate_with_hits(model, tok, shared_prompts[:2], 5, batch_size=2) == \
        reference_generate_with_hits(model, tok, shared_prompts[:2], 5, batch_size=2)


def test_a_prompt_past_the_context_is_refused_with_the_fix(sharp_model, shared_prompts):
    model, tok = sharp_model
    ids = tok(shared_prompts, add_special_tokens=False)["input_ids"]
    longest = max(range(len(ids)), key=lambda i: len(ids[i]))
    model.config.max_position_embeddings = len(ids[longest]) + 10
    check_context(model, ids, 10)  # exactly fits: fine
    with pytest.raises(VocError) as err:
        generate_with_hits(model, tok, shared_prompts, max_new_tokens=11)
    msg = str(err.value)
    assert f"prompt #{longest} is {len(ids[longest])} tokens" in msg
    assert f"needs {len(ids[longest]) + 11} positions" in msg and f"context is {len(ids[longest]) + 10}" in msg
    assert "prompt.taxonomy: none" in msg and "longer context" in msg
