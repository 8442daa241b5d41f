"""Log-likelihood scoring: every saving (shared forward passes, a group's prefix KV cache, token-capped batches)
gives the log-likelihoods of one plain forward pass per request, within floating-point tolerance."""

from __future__ import annotations

import pytest
import torch

from voc.eval.mmlu import LETTERS, format_prompt
from voc.model import loglik
from voc.model.loading import load_model
from voc.model.loglik import encode_pair, loglikelihoods


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir, device="cpu")


def _by_hand(model, tok, context: str, continuation: str) -> tuple[float, bool]:
    """One un-batched forward pass over context+continuation, log_softmax, sum over the continuation tokens.

    As in lm-eval, trailing whitespace of the context belongs to the continuation.
    """
    stripped = context.rstrip()
    context, continuation = stripped, context[len(stripped):] + continuation
    ctx = tok.encode(context, add_special_tokens=False)
    whole = tok.encode(context + continuation, add_special_tokens=False)
    cont = whole[len(ctx):]
    with torch.no_grad():
        logits = model(torch.tensor([whole[:-1]])).logits[0]
    logp = torch.log_softmax(logits, -1)[len(ctx) - 1:]
    total = sum(logp[i, t].item() for i, t in enumerate(cont))
    return total, all(logp[i].argmax().item() == t for i, t in enumerate(cont))


def _assert_by_hand(model, tok, requests, got) -> None:
    for (ctx, cont), (ll, greedy) in zip(requests, got, strict=True):
        want, want_greedy = _by_hand(model, tok, ctx, cont)
        assert ll == pytest.approx(want, abs=1e-4) and ll < 0
        assert greedy == want_greedy


@pytest.fixture
def prefix_spy(monkeypatch) -> list[list[tuple[int, ...]]]:
    """The prefixes each call of `_encode_prefixes` encoded: proof that the cache was used, and how."""
    calls: list[list[tuple[int, ...]]] = []
    real = loglik._encode_prefixes

    def spy(model, prefixes, pad_id):
        calls.append(list(prefixes))
        return real(model, prefixes, pad_id)

    monkeypatch.setattr(loglik, "_encode_prefixes", spy)
    return calls


def test_loglik_matches_a_single_forward_pass(tiny):
    model, tok = tiny
    requests = [("The camera app keeps", " crashing after the update."), ("Night", " vision"),
                ("The following are multiple choice questions (with answers) about anatomy. Answer:", " B"),
                ("def add(a, b):\n", "    return a + b")]
    _assert_by_hand(model, tok, requests, loglikelihoods(model, tok, requests, batch_size=3))


def test_loglik_greedy_flag(tiny):
    model, tok = tiny
    ctx = "Write a haiku about the sea."
    with torch.no_grad():
        logits = model(torch.tensor([tok.encode(ctx, add_special_tokens=False)])).logits[0, -1]
    best, worst = tok.decode([logits.argmax().item()]), tok.decode([logits.argmin().item()])
    assert tok.encode(ctx + best, add_special_tokens=False)[-1] == logits.argmax().item()  # precondition
    (ll_best, greedy_best), (ll_worst, greedy_worst) = loglikelihoods(model, tok, [(ctx, best), (ctx, worst)])
    assert greedy_best and not greedy_worst
    assert ll_best == pytest.approx(torch.log_softmax(logits, -1).max().item(), abs=1e-5) and ll_worst < ll_best


def test_encode_pair_moves_trailing_space_to_the_continuation(tiny):
    _, tok = tiny
    assert encode_pair(tok, "Answer: ", "B") == encode_pair(tok, "Answer:", " B")
    ctx, cont = encode_pair(tok, "Answer:", " B")
    assert tok.decode(ctx) == "Answer:" and tok.decode(cont) == " B"


def _mmlu_rows() -> tuple[list[dict], list[dict]]:
    """Three subjects of three questions (varied lengths) and two dev shots each."""
    subjects = ["anatomy", "astronomy", "virology"]
    test = [{"subject": s, "question": f"Question {q} about {s}: which app " + "keeps crashing " * (q + j),
             "choices": ["update", "camera", "night vision", "battery"], "answer": q % 4}
            for j, s in enumerate(subjects) for q in range(3)]
    dev = [{"subject": s, "question": f"Shot {d} for {s}?", "choices": list("wxyz"), "answer": d}
           for s in subjects for d in range(2)]
    return test, dev


@pytest.mark.parametrize("k_shot", [0, 2])
def test_subject_prefix_cache_gives_the_uncached_loglikelihoods(tiny, prefix_spy, k_shot):
    model, tok = tiny
    test, dev = _mmlu_rows()
    requests = [(format_prompt(r, dev, k_shot), f" {letter}") for r in test for letter in LETTERS]
    subjects = [r["subject"] for r in test for _ in LETTERS]
    uncached = loglikelihoods(model, tok, requests, batch_size=4, groups=range(len(requests)))
    assert prefix_spy == []  # one group per request: nothing is shared, today's plain batches
    cached = loglikelihoods(model, tok, requests, batch_size=4, groups=subjects)
    assert len(prefix_spy) == 1 and len(prefix_spy[0]) == 3  # the three subjects' prefixes, encoded once each
    shot_tokens = len(tok.encode(format_prompt(test[0], dev, k_shot).split("Question 0")[0]))
    assert min(len(p) for p in prefix_spy[0]) >= shot_tokens - 1  # header and shots (one boundary merge at most)
    for (a, ga), (b, gb) in zip(uncached, cached, strict=True):
        assert a == pytest.approx(b, abs=1e-4) and ga == gb
    _assert_by_hand(model, tok, requests[::5], cached[::5])


def test_groups_with_ragged_prefixes_solo_rows_and_tiny_batches(tiny, prefix_spy):
    """Prefixes of different lengths padded in one cache, rows that share nothing, multi-token continuations,
    a string prefix ending inside a token, and a token cap that forces one row per batch."""
    model, tok = tiny
    requests = [("The camera app keeps", " crashing after the update."), ("The camera app keeps", " crash"),
                ("The camera app keeps", "crashing"), ("Write a haiku, 12 + 7 = 19, about", " the sea."),
                ("Write a haiku, 12 + 7 = 19, about", " the sea. Answer in exactly 3 bullet points."),
                ("Night", " vision"), ("def add(a, b):\n", "    return a + b")]
    groups = ["camera", "camera", "camera", "haiku", "haiku", "night", "code"]
    for batch_size, max_tokens in ((16, None), (2, 1)):
        prefix_spy.clear()
        got = loglikelihoods(model, tok, requests, batch_size=batch_size, groups=groups, max_batch_tokens=max_tokens)
        lengths = sorted(len(p) for call in prefix_spy for p in call)
        assert len(lengths) == 2 and 0 < lengths[0] < lengths[1]  # camera, haiku; night and code run uncached
        assert len(prefix_spy) == (1 if batch_size == 16 else 2)  # together (ragged, padded), then one by one
        _assert_by_hand(model, tok, requests, got)


def test_batches_cap_rows_and_padded_tokens():
    lengths = [5, 100, 30, 30, 29, 400, 1]
    batches = list(loglik._batches(lengths, max_rows=3, max_tokens=90))
    assert batches == [[5], [1], [2, 3, 4], [0, 6]]  # longest first; 400 and 100 alone; 3 x 30 fits 90
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert list(loglik._batches(lengths, max_rows=2, max_tokens=10_000)) == [[5, 1], [2, 3], [4, 0], [6]]


def test_default_token_cap_scales_with_batch_size(tiny, monkeypatch):
    model, tok = tiny
    widths = []
    real = loglik._score_batch

    def spy(model, inputs, pad_id, keep, past=None):
        widths.append(len(inputs) * max(len(x) for x in inputs))
        return real(model, inputs, pad_id, keep, past)

    monkeypatch.setattr(loglik, "_score_batch", spy)
    monkeypatch.setattr(loglik, "TOKENS_PER_ROW", 8)
    requests = [(f"Request {i}: " + "the camera app keeps crashing " * (i % 3), " yes") for i in range(8)]
    _assert_by_hand(model, tok, requests, loglikelihoods(model, tok, requests, batch_size=4))
    long_rows = max(len(tok.encode(c)) for c, _ in requests)
    assert all(w <= 4 * 8 or w == long_rows for w in widths) and len(widths) > 2
