"""Log-likelihood of continuations given contexts, following lm-eval-harness conventions.

Requests that need the same forward pass (e.g. MMLU's " A".." D" after one prompt) share it, and batches are
left-padded so the scored positions are always the last ones: only their logits are computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of context and continuation, split where lm-eval splits them.

    Trailing spaces of the context move to the continuation, and the continuation's ids are taken from the
    encoding of the whole string, so a merge across the boundary is tokenised as the model would see it.
    """
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = tokenizer.encode(context + continuation, add_special_tokens=False)
    ctx = tokenizer.encode(context, add_special_tokens=False)
    if not context:
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        return [prefix], whole
    return ctx, whole[len(ctx):]


def _max_length(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 2048) or 2048)


@torch.inference_mode()
def _score_batch(model, inputs: list[list[int]], pad_id: int, keep: int) -> torch.Tensor:
    """Log-probs (batch, keep, vocab) of the last `keep` positions of left-padded inputs."""
    width = max(len(x) for x in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(inputs), width), dtype=torch.long)
    for i, x in enumerate(inputs):
        ids[i, width - len(x):] = torch.tensor(x)
        mask[i, width - len(x):] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                position_ids=pos.to(model.device), logits_to_keep=keep, use_cache=False)
    return torch.log_softmax(out.logits[:, -keep:].float(), dim=-1)


def loglikelihoods(model, tokenizer, requests: Sequence[tuple[str, str]], batch_size: int = 16,
                   desc: str = "loglik") -> list[tuple[float, bool]]:
    """(sum of log p(continuation tokens | context), whether greedy decoding yields the continuation) per request."""
    limit = _max_length(model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    groups: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
    for i, (context, continuation) in enumerate(requests):
        ctx, cont = encode_pair(tokenizer, context, continuation)
        if not cont:
            raise ValueError(f"request {i}: the continuation {continuation!r} encodes to no tokens")
        full = (ctx + cont)[-(limit + 1):]
        groups.setdefault(tuple(full[:-1]), []).append((i, cont))
    keys = sorted(groups, key=len, reverse=True)  # longest first: an OOM shows up at once
    results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
    for start in tqdm(range(0, len(keys), batch_size), desc=desc, disable=len(keys) <= batch_size):
        chunk = keys[start:start + batch_size]
        keep = max(len(c) for k in chunk for _, c in groups[k])
        logp = _score_batch(model, [list(k) for k in chunk], pad_id, keep)
        for row, key in enumerate(chunk):
            for i, cont in groups[key]:
                lp = logp[row, keep - len(cont):]
                target = torch.tensor(cont, device=lp.device).unsqueeze(-1)
                total = lp.gather(-1, target).sum().item()
                greedy = bool((lp.argmax(-1) == target.squeeze(-1)).all().item())
                results[i] = (float(total), greedy)
    return results
