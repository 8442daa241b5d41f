"""The decoding engine: the JSON-array early stop, and the logits hook (where a constraint would plug in) seeing
the right prompts as rows leave the batch."""

from __future__ import annotations

import torch

from voc.model.decode import generate_shared_prefix

REPLY = '[{"content": "app ] crashes", "L1": "App"}]'


def scripted(tok, replies: dict[int, str]):
    """A logits hook that makes prompt i write `replies[i]` (then EOS), recording which prompts each step saw."""
    scripts = {i: tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for i, r in replies.items()}
    seen: list[list[int]] = []

    def hook(rows: list[int], generated: list[list[int]], scores: torch.Tensor) -> torch.Tensor:
        seen.append(list(rows))
        forced = torch.full_like(scores, float("-inf"))
        for j, (row, done) in enumerate(zip(rows, generated, strict=True)):
            forced[j, scripts[row][len(done)]] = 0.0
        return forced

    return hook, seen


def _ids(tok, prompts):
    return tok(prompts, add_special_tokens=False)["input_ids"]


def test_a_reply_stops_where_its_json_array_closes(sharp_model, shared_prompts):
    model, tok = sharp_model
    ids = _ids(tok, shared_prompts[:3])
    replies = {0: REPLY + " and then some prose", 1: "Sure: " + REPLY + " done", 2: REPLY}
    hook, _ = scripted(tok, replies)
    texts, hits = generate_shared_prefix(model, tok, ids, 40, 3, stop_at_array_end=True, logits_hook=hook)
    assert texts == [REPLY, replies[1], REPLY] and hits == [False, False, False]
    hook, _ = scripted(tok, replies)
    texts, _ = generate_shared_prefix(model, tok, ids, 40, 3, stop_at_array_end=False, logits_hook=hook)
    assert texts == [replies[0], replies[1], REPLY]  # without the rule: up to EOS, as today


def test_the_hook_sees_the_prompts_still_decoding(sharp_model, shared_prompts):
    model, tok = sharp_model
    ids = _ids(tok, shared_prompts[:3])
    replies = {0: "a b c d e f", 1: "a", 2: "a b c"}
    hook, seen = scripted(tok, replies)
    texts, hits = generate_shared_prefix(model, tok, ids, 40, 3, logits_hook=hook)
    assert texts == [replies[0], replies[1], replies[2]] and not any(hits)
    lengths = {i: len(tok(r, add_special_tokens=False)["input_ids"]) + 1 for i, r in replies.items()}
    for step, rows in enumerate(seen):  # a prompt is a row until the step that writes its EOS
        assert sorted(rows) == [i for i in range(3) if lengths[i] > step]


def test_a_reply_that_closes_its_array_on_the_last_allowed_token_did_not_hit_the_limit(sharp_model,
                                                                                      shared_prompts):
    model, tok = sharp_model
    n = len(tok(REPLY, add_special_tokens=False)["input_ids"])
    hook, _ = scripted(tok, {0: REPLY + " tail"})
    assert generate_shared_prefix(model, tok, _ids(tok, shared_prompts[:1]), n, 1, stop_at_array_end=True,
                                  logits_hook=hook) == ([REPLY], [False])
    hook, _ = scripted(tok, {0: REPLY + " tail"})
    assert generate_shared_prefix(model, tok, _ids(tok, shared_prompts[:1]), n - 1, 1, stop_at_array_end=True,
                                  logits_hook=hook)[1] == [True]
