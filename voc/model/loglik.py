"""Log-likelihood of continuations given contexts, following lm-eval-harness conventions.

Three savings over one forward pass per request, none of which changes which tokens the model sees:
- Requests that need the same forward pass (MMLU's " A".." D" after one prompt) share it.
- Requests of one *group* (an MMLU subject, whose k-shot prefix is the same for every question; the choices of one
  task item, which share their context) share the tokens their inputs start with: that prefix is encoded once and
  its KV cache reused for every member. The shared part is found on token ids, never on strings, so a BPE merge
  across the boundary cannot change the tokenisation.
- Batches are sorted by length and capped in rows *and* padded tokens, so one long row does not pull fifteen
  others to its width, and left-padded so the scored positions are the last ones: only their logits are computed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache

TOKENS_PER_ROW = 256  # a batch holds at most batch_size rows and batch_size * TOKENS_PER_ROW padded tokens


@dataclass
class _Row:
    """One forward pass: the model's input (context + continuation minus its last token) and the requests it
    scores. The first `shared` ids are the group's prefix, whose KV cache is computed once."""

    ids: tuple[int, ...]
    members: list[tuple[int, list[int]]] = field(default_factory=list)  # (request index, continuation ids)
    shared: int = 0

    @property
    def suffix(self) -> tuple[int, ...]:
        return self.ids[self.shared:]


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


def _common_prefix(rows: Sequence[_Row]) -> int:
    """Length of the longest run of ids every row starts with, leaving each row its scored positions."""
    n = max(0, min(len(r.ids) - max(len(c) for _, c in r.members) for r in rows))
    first = rows[0].ids
    for r in rows[1:]:
        n = next((i for i in range(n) if r.ids[i] != first[i]), n)
    return n


def _build_rows(tokenizer, requests: Sequence[tuple[str, str]], groups: Sequence[Hashable],
                limit: int) -> dict[tuple[int, ...], list[_Row]]:
    """Rows keyed by their group's shared prefix (empty: rows that share nothing, batched freely)."""
    by_group: dict[Hashable, dict[tuple[int, ...], _Row]] = {}
    for i, ((context, continuation), group) in enumerate(zip(requests, groups, strict=True)):
        ctx, cont = encode_pair(tokenizer, context, continuation)
        if not cont:
            raise ValueError(f"request {i}: the continuation {continuation!r} encodes to no tokens")
        ids = tuple((ctx + cont)[-(limit + 1):-1])
        rows = by_group.setdefault(group, {})
        rows.setdefault(ids, _Row(ids)).members.append((i, cont))
    by_prefix: dict[tuple[int, ...], list[_Row]] = {}
    for rows in by_group.values():
        members = list(rows.values())
        shared = _common_prefix(members) if len(members) > 1 else 0
        for r in members:
            r.shared = shared
        by_prefix.setdefault(members[0].ids[:shared], []).extend(members)
    return by_prefix


def _batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> Iterator[list[int]]:
    """Indices of `lengths` (longest first) in batches of at most `max_rows` rows and `max_tokens` padded tokens
    (a row longer than `max_tokens` goes alone). Sorting bounds the padding; longest first shows an OOM at once."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) == max_rows or (len(batch) + 1) * lengths[batch[0]] > max_tokens):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def _left_pad(inputs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(inputs), width), dtype=torch.long)
    for i, x in enumerate(inputs):
        ids[i, width - len(x):] = torch.tensor(x, dtype=torch.long)
        mask[i, width - len(x):] = 1
    return ids, mask


@torch.inference_mode()
def _encode_prefixes(model, prefixes: Sequence[tuple[int, ...]], pad_id: int) -> tuple[DynamicCache, torch.Tensor]:
    """The KV cache of left-padded prefixes, and their attention mask (the suffixes' mask extends it)."""
    ids, mask = _left_pad(prefixes, pad_id)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    dev = model.device
    out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev), use_cache=True,
                logits_to_keep=1)
    return out.past_key_values, mask


@torch.inference_mode()
def _score_batch(model, inputs: Sequence[Sequence[int]], pad_id: int, keep: int,
                 past: tuple[DynamicCache, torch.Tensor, list[int]] | None = None) -> torch.Tensor:
    """Log-probs (batch, keep, vocab) of the last `keep` positions of left-padded inputs. With `past` (prefix
    cache, prefix mask, the prefix row of each input) each input continues its prefix: the cache rows are copied,
    the padding between prefix and input is masked, and positions continue from the prefix's length."""
    ids, mask = _left_pad(inputs, pad_id)
    pos = mask.cumsum(-1) - 1
    cache = None
    if past is not None:
        full, pmask, rows = past
        index = torch.tensor(rows, device=model.device)
        cache = DynamicCache([(layer.keys.index_select(0, index), layer.values.index_select(0, index))
                              for layer in full.layers], config=model.config)
        pos = pos + pmask[rows].sum(-1, keepdim=True)
        mask = torch.cat([pmask[rows], mask], dim=-1)
    dev = model.device
    out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.clamp(min=0).to(dev),
                past_key_values=cache, logits_to_keep=keep, use_cache=cache is not None)
    return torch.log_softmax(out.logits[:, -keep:].float(), dim=-1)


def _collect(rows: Sequence[_Row], logp: torch.Tensor, keep: int, results: list[tuple[float, bool]]) -> None:
    """Each member's summed log-prob and whether greedy decoding yields its continuation."""
    for r, row in enumerate(rows):
        for i, cont in row.members:
            lp = logp[r, keep - len(cont):]
            target = torch.tensor(cont, device=lp.device).unsqueeze(-1)
            total = lp.gather(-1, target).sum().item()
            greedy = bool((lp.argmax(-1) == target.squeeze(-1)).all().item())
            results[i] = (float(total), greedy)


def _run_prefixes(model, by_prefix: dict[tuple[int, ...], list[_Row]], prefixes: list[tuple[int, ...]],
                  pad_id: int, max_rows: int, max_tokens: int, results: list[tuple[float, bool]]) -> None:
    """Encode `prefixes` together (none if the one prefix is empty), then score all their rows in batches."""
    past = _encode_prefixes(model, prefixes, pad_id) if prefixes[0] else None
    rows = [(p, row) for p, key in enumerate(prefixes) for row in by_prefix[key]]
    for batch in _batches([len(row.suffix) for _, row in rows], max_rows, max_tokens):
        chosen = [rows[i] for i in batch]
        keep = max(len(c) for _, row in chosen for _, c in row.members)
        inputs = [row.suffix for _, row in chosen]
        rows_past = None if past is None else (*past, [p for p, _ in chosen])
        logp = _score_batch(model, inputs, pad_id, keep, rows_past)
        _collect([row for _, row in chosen], logp, keep, results)


def loglikelihoods(model, tokenizer, requests: Sequence[tuple[str, str]], batch_size: int = 16,
                   desc: str = "loglik", groups: Sequence[Hashable] | None = None,
                   max_batch_tokens: int | None = None) -> list[tuple[float, bool]]:
    """(sum of log p(continuation tokens | context), whether greedy decoding yields the continuation) per request.

    `groups` (default: the context) names the requests whose inputs share a prefix worth caching; results never
    depend on it beyond floating-point reassociation. A batch holds at most `batch_size` rows and
    `max_batch_tokens` (default batch_size * TOKENS_PER_ROW) padded tokens.
    """
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    by_prefix = _build_rows(tokenizer, requests, groups if groups is not None else [c for c, _ in requests],
                            _max_length(model))
    max_tokens = max_batch_tokens or batch_size * TOKENS_PER_ROW
    results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
    solo = by_prefix.pop((), None)
    keys = list(by_prefix)
    chunks = [[keys[i] for i in b] for b in _batches([len(k) for k in keys], batch_size, max_tokens)]
    if solo:
        by_prefix[()] = solo
        chunks.append([()])
    for chunk in tqdm(chunks, desc=desc, disable=len(chunks) <= 1):
        _run_prefixes(model, by_prefix, chunk, pad_id, batch_size, max_tokens, results)
    return results
