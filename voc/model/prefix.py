"""Shared-prefix attention: the prompts of one call share a long leading prefix (the system prompt with the whole
taxonomy), so its keys and values are computed once, at batch 1, and every row's queries attend to that one copy.

Copying the prefix into every row of a batched cache would save the prefill but not the decoding: each step would
still read (and `DynamicCache` re-concatenate) batch x prefix keys per layer. Here the attention is split in two
parts, the shared prefix (read once per step for the whole batch) and each row's own suffix and reply (a small
`DynamicCache`), merged exactly through their log-sum-exp: the softmax over the concatenation of both parts.

The split is plugged into transformers through its attention interface (`AttentionInterface.register`), so the
model's own layers, rotary embeddings and projections run unchanged; only the attention product is computed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from transformers import AttentionInterface, DynamicCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from voc.core.errors import VocError

ATTENTION = "voc_shared_prefix"
MAX_SCORES = 1 << 26  # score elements per chunk of rows (256 MB in fp32): bounds the prefill of long prefixes


@dataclass
class SharedPrefix:
    """Per layer, the prefix's keys and values, each `[1, kv_heads, length, head_dim]` (after rotary)."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    length: int
    _mask: torch.Tensor | None = field(default=None, repr=False)
    _bias: torch.Tensor | None = field(default=None, repr=False)

    def bias(self, mask: torch.Tensor, groups: int) -> torch.Tensor:
        """The additive mask `[B, groups*q, prefix+s]` (0 or -inf) over [prefix, own] for the grouped queries of
        the boolean row mask `[B, 1, q, s]`. Every layer of one forward gets the same mask object, so it is
        built once per forward, not once per layer."""
        if mask is not self._mask:
            b, _, q, s = mask.shape
            own = torch.zeros((b, q, s), device=mask.device).masked_fill_(~mask[:, 0], float("-inf"))
            own = own[:, None].expand(b, groups, q, s).reshape(b, groups * q, s)
            self._bias, self._mask = torch.cat([own.new_zeros(b, groups * q, self.length), own], -1), mask
        return self._bias


def common_prefix_length(ids: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, at most the shortest prompt's length minus one: each row keeps at least
    one token of its own, whose logits start its reply. The prompts are tokenised one by one exactly as the
    reference tokenises them, so the prefix plus each suffix is that prompt's own token sequence: the split point
    is a token boundary of every prompt by construction."""
    shortest = min(len(x) for x in ids)
    if shortest == 0:
        raise VocError("a prompt renders to zero tokens. Fix: give every conversation a non-empty message")
    first, n = ids[0], 0
    while n < shortest - 1 and all(x[n] == first[n] for x in ids):
        n += 1
    return n


def supports_shared_prefix(model) -> bool:
    """True when the model computes attention through transformers' attention interface (so the split attention
    can stand in) and uses plain full causal attention: no sliding window, no logit soft-capping, no sinks.
    Other models keep the reference path."""
    cfg = model.config
    if not getattr(model, "_supports_attention_backend", False) or cfg._attn_implementation not in ("sdpa", "eager"):
        return False
    sliding = getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True)
    capped = getattr(cfg, "attn_logit_softcapping", None) or getattr(cfg, "final_logit_softcapping", None)
    layer_types = set(getattr(cfg, "layer_types", None) or ["full_attention"])
    return not sliding and not capped and layer_types == {"full_attention"}


@torch.inference_mode()
def compute_prefix(model, prefix_ids: Sequence[int]) -> SharedPrefix:
    """Run the prefix once (batch 1, positions 0..n-1) and keep its keys and values."""
    cache = DynamicCache(config=model.config)
    if prefix_ids:
        ids = torch.tensor([list(prefix_ids)], device=model.device)
        model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    layers = cache.layers if prefix_ids else []
    return SharedPrefix([la.keys for la in layers], [la.values for la in layers], len(prefix_ids))


@contextmanager
def shared_prefix_attention(model) -> Iterator[None]:
    """Route the model's attention through `prefix_attention` for the duration, then restore its own."""
    before = model.config._attn_implementation
    model.config._attn_implementation = ATTENTION
    try:
        yield
    finally:
        model.config._attn_implementation = before


def prefix_attention(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                     shared_prefix: SharedPrefix | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    """Attention over [shared prefix, this row's cache], for `query` `[B, heads, q, d]` and the row cache's
    `key`/`value` `[B, kv_heads, s, d]`; `attention_mask` is the caller's boolean `[B, 1, q, s]` mask over the row
    cache (the prefix is visible to every query). Without `shared_prefix` it is plain SDPA."""
    if shared_prefix is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    if any(kwargs.get(k) is not None for k in ("sliding_window", "softcap", "s_aux")):
        raise VocError("shared-prefix attention got a sliding window, soft-capping or sinks: an unsupported model "
                       "reached it. Fix: report it; supports_shared_prefix should have routed it to the reference")
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    layer = module.layer_idx
    pk, pv = (shared_prefix.keys[layer], shared_prefix.values[layer]) if shared_prefix.length else (None, None)
    bias = shared_prefix.bias(attention_mask, query.shape[1] // key.shape[1])
    rows = max(1, MAX_SCORES // max(1, query.shape[1] * query.shape[2] * (shared_prefix.length + key.shape[2])))
    outs = [_split_attention(query[i:i + rows], key[i:i + rows], value[i:i + rows], bias[i:i + rows], pk, pv,
                             scale) for i in range(0, query.shape[0], rows)]
    return torch.cat(outs) if len(outs) > 1 else outs[0], None


def _split_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, bias: torch.Tensor,
                     pk: torch.Tensor | None, pv: torch.Tensor | None, scale: float) -> torch.Tensor:
    """softmax([q·prefix, q·own] + bias) @ [prefix values, own values] for query `[b, heads, q, d]`, returned as
    `[b, q, heads, d]` like transformers' attention functions. Scores live as `[kv_heads, b, groups*q, *]`: every
    row's grouped queries meet the one prefix copy in a single matmul per kv head (the prefix is never repeated
    per row), and the few small tensors keep the op count per layer low (decoding is many tiny steps)."""
    b, heads, q, d = query.shape
    kv_heads = key.shape[1]
    gq = heads // kv_heads * q
    qk = query.view(b, kv_heads, heads // kv_heads, q, d).permute(1, 0, 2, 3, 4).reshape(kv_heads, b * gq, d)
    qk = qk * scale
    own = torch.matmul(qk.view(kv_heads, b, gq, d).transpose(0, 1), key.transpose(-1, -2))  # [b, kv, gq, s]
    if pk is None:
        scores = own.transpose(0, 1).float() + bias
    else:
        shared = torch.bmm(qk, pk[0].transpose(-1, -2)).view(kv_heads, b, gq, -1)
        scores = torch.cat([shared, own.transpose(0, 1)], -1).float().add_(bias)
    probs = torch.softmax(scores, -1).to(value.dtype)  # [kv, b, gq, p+s]
    p = pk.shape[2] if pk is not None else 0
    out = torch.matmul(probs[..., p:].transpose(0, 1), value)  # [b, kv, gq, d]
    if pk is not None:
        from_prefix = torch.bmm(probs[..., :p].reshape(kv_heads, b * gq, p), pv[0])
        out = out + from_prefix.view(kv_heads, b, gq, d).transpose(0, 1)
    return out.reshape(b, kv_heads, heads // kv_heads, q, d).permute(0, 3, 1, 2, 4).reshape(b, q, heads, d)


AttentionInterface.register(ATTENTION, prefix_attention)
