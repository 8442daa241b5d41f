"""The split attention equals ordinary attention over [prefix, own tokens]; the prefix is cut where every prompt
still agrees and leaves each row a token of its own; unsupported models are recognised."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import voc.model.prefix as prefix_mod
from voc.core.errors import VocError
from voc.model.prefix import SharedPrefix, common_prefix_length, prefix_attention, supports_shared_prefix


@pytest.mark.parametrize(("ids", "expected"), [
    ([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]], 2),
    ([[1, 2, 3], [1, 2, 3]], 2),  # identical prompts: the last token stays each row's own
    ([[9, 2], [1, 2]], 0),
    ([[1, 2, 3, 4, 5]], 4),
])
def test_common_prefix_length(ids, expected):
    assert common_prefix_length(ids) == expected


def test_an_empty_prompt_is_refused():
    with pytest.raises(VocError, match="zero tokens"):
        common_prefix_length([[1, 2], []])


def _reference(query, pk, pv, key, value, mask, scale):
    """Plain SDPA over the concatenation, the prefix expanded into every row and visible to every query."""
    b, heads, q, _ = query.shape
    groups = heads // key.shape[1]
    k = torch.cat([pk.expand(b, -1, -1, -1), key], 2).repeat_interleave(groups, 1)
    v = torch.cat([pv.expand(b, -1, -1, -1), value], 2).repeat_interleave(groups, 1)
    full = torch.cat([torch.ones(b, 1, q, pk.shape[2], dtype=torch.bool), mask], -1)
    return torch.nn.functional.scaled_dot_product_attention(query, k, v, attn_mask=full, scale=scale).transpose(1, 2)


@pytest.mark.parametrize("chunk", [None, 1])
def test_split_attention_equals_attention_over_the_concatenation(monkeypatch, chunk):
    if chunk:
        monkeypatch.setattr(prefix_mod, "MAX_SCORES", chunk)  # one row per chunk
    gen = torch.Generator().manual_seed(0)
    b, heads, kv_heads, q, s, p, d = 3, 6, 2, 4, 7, 11, 8
    query = torch.randn(b, heads, q, d, generator=gen)
    key, value = torch.randn(b, kv_heads, s, d, generator=gen), torch.randn(b, kv_heads, s, d, generator=gen)
    pk, pv = torch.randn(1, kv_heads, p, d, generator=gen), torch.randn(1, kv_heads, p, d, generator=gen)
    mask = torch.ones(s, s, dtype=torch.bool).tril()[-q:][None, None].repeat(b, 1, 1, 1)
    mask[0, :, :, :3] = False  # row 0 is left-padded by three tokens
    module = SimpleNamespace(layer_idx=1)
    shared = SharedPrefix([torch.zeros(1), pk], [torch.zeros(1), pv], p)
    out, _ = prefix_attention(module, query, key, value, mask, scaling=0.3, shared_prefix=shared)
    torch.testing.assert_close(out, _reference(query, pk, pv, key, value, mask, 0.3))
    empty = SharedPrefix([], [], 0)  # no common prefix: attention over the row's own tokens only
    out, _ = prefix_attention(module, query, key, value, mask, scaling=0.3, shared_prefix=empty)
    torch.testing.assert_close(out, _reference(query, pk[:, :, :0], pv[:, :, :0], key, value, mask, 0.3))


def test_supports_shared_prefix(tiny_model_dir):
    from voc.model.loading import load_model

    model, _ = load_model(tiny_model_dir)
    assert supports_shared_prefix(model)
    model.config.sliding_window = 16
    assert not supports_shared_prefix(model)
    model.config.sliding_window = None
    model.config.layer_types = ["sliding_attention", "full_attention"]
    assert not supports_shared_prefix(model)
    model.config.layer_types = None
    model.config._attn_implementation = "flex_attention"
    assert not supports_shared_prefix(model)
