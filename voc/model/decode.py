"""Greedy, batched decoding over a shared prefix: the engine behind `voc.model.generate` for the HF backend.

Compared with one `model.generate` call per batch of whole prompts (the reference, kept in `generate.py`):
- the prompts' common leading tokens (the system prompt and taxonomy) are run once per call, not once per row
  (`voc.model.prefix`), and each row's attention reads that one copy;
- each batch prefills only its rows' own suffixes (left-padded; masks and positions continue after the prefix);
- a row leaves the batch as soon as it ends (stop token, `max_new_tokens`, or with `stop_at_array_end` the close
  of its JSON array), so a batch no longer computes finished rows until its longest reply is done.

The token choice is the reference's: the argmax of the last position's logits. `logits_hook` is where a
constraint edits the scores first (`voc.model.constrained`'s taxonomy grammar, `eval.constrained`); it is told which
prompts the rows are, because rows leave, so it can keep one parse state per prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache

from voc.model.prefix import SharedPrefix, common_prefix_length, compute_prefix, shared_prefix_attention
from voc.model.stopping import ArrayEnd, eos_ids, reply_end_ids, token_texts

# (prompt index of each active row, each active row's new tokens so far, next-token scores [rows, vocab]) -> scores
LogitsHook = Callable[[list[int], list[list[int]], torch.Tensor], torch.Tensor]


@dataclass
class _Rows:
    """The rows still decoding in one batch, and their own cache (suffix and reply, not the shared prefix)."""

    rows: list[int]  # prompt index of each row
    cache: DynamicCache
    valid: torch.Tensor  # [rows, cached] bool: real tokens (False for left padding)
    next_pos: torch.Tensor  # [rows] position of each row's next token

    def keep(self, keep: list[int]) -> None:
        idx = torch.tensor(keep, device=self.valid.device)
        self.cache.batch_select_indices(idx)
        self.rows = [self.rows[j] for j in keep]
        self.valid, self.next_pos = self.valid[idx], self.next_pos[idx]


class _Replies:
    """Every prompt's new tokens, and why each reply ended: a stop token, the close of its JSON array, or
    `max_new_tokens` (a hit: cut before it finished)."""

    def __init__(self, n: int, stop: set[int], ended: set[int], max_new_tokens: int,
                 text: Callable[[int], str] | None) -> None:
        self.tokens: list[list[int]] = [[] for _ in range(n)]
        self.hits = [False] * n
        self.stop, self.ended, self.max_new_tokens, self.text = stop, ended, max_new_tokens, text
        self.watchers = [ArrayEnd() for _ in range(n)] if text else []

    def add(self, rows: Sequence[int], tokens: Sequence[int]) -> list[int]:
        """Append each row's token; return the positions (in `rows`) of the rows that go on."""
        going = []
        for j, (row, tok) in enumerate(zip(rows, tokens, strict=True)):
            self.tokens[row].append(tok)
            if tok in self.stop or (self.text and self.watchers[row].feed(self.text(tok))):
                continue
            if len(self.tokens[row]) >= self.max_new_tokens:
                self.hits[row] = not self.ended.intersection(self.tokens[row])  # as `generate.hit_limit` says
                continue
            going.append(j)
        return going


def _forward(model, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, rows: _Rows,
             prefix: SharedPrefix) -> torch.Tensor:
    """One forward step over the rows' new tokens; the last position's logits `[rows, vocab]`."""
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=rows.cache, use_cache=True,
                logits_to_keep=1, shared_prefix=prefix)
    return out.logits[:, -1, :]


def _prefill(model, prefix: SharedPrefix, suffixes: list[list[int]], rows: list[int],
             pad_id: int) -> tuple[torch.Tensor, _Rows]:
    """Run the batch's own suffixes, left-padded, after the prefix: positions continue at the prefix's length."""
    width, dev = max(len(s) for s in suffixes), model.device
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long)
    valid = torch.zeros((len(suffixes), width), dtype=torch.bool)
    for j, s in enumerate(suffixes):
        ids[j, width - len(s):], valid[j, width - len(s):] = torch.tensor(s), True
    ids, valid = ids.to(dev), valid.to(dev)
    pos = (prefix.length + valid.long().cumsum(-1) - 1).clamp(min=prefix.length)  # a pad's position is unused
    causal = torch.ones(width, width, dtype=torch.bool, device=dev).tril()
    # causal over real tokens; a pad query also sees itself, so no query is left with nothing to attend to
    mask = (valid[:, None, None, :] & causal) | torch.eye(width, dtype=torch.bool, device=dev)
    state = _Rows(list(rows), DynamicCache(config=model.config), valid, pos[:, -1] + 1)
    return _forward(model, ids, mask, pos, state, prefix), state


def _decode_batch(model, prefix: SharedPrefix, state: _Rows, logits: torch.Tensor, replies: _Replies,
                  logits_hook: LogitsHook | None) -> None:
    """Greedy steps until every row of the batch has ended; ended rows leave the batch (and its cache)."""
    while True:
        if logits_hook is not None:
            logits = logits_hook(state.rows, [replies.tokens[r] for r in state.rows], logits)
        tokens = logits.argmax(-1)
        going = replies.add(state.rows, tokens.tolist())
        if not going:
            return
        if len(going) < len(state.rows):
            state.keep(going)
            tokens = tokens[torch.tensor(going, device=tokens.device)]
        ones = torch.ones((len(going), 1), dtype=torch.bool, device=state.valid.device)
        state.valid = torch.cat([state.valid, ones], dim=-1)
        logits = _forward(model, tokens[:, None], state.valid[:, None, None, :], state.next_pos[:, None], state,
                          prefix)
        state.next_pos = state.next_pos + 1


@torch.inference_mode()
def generate_shared_prefix(model, tokenizer, ids: Sequence[Sequence[int]], max_new_tokens: int, batch_size: int,
                           stop_at_array_end: bool = False, logits_hook: LogitsHook | None = None,
                           desc: str = "generate") -> tuple[list[str], list[bool]]:
    """Greedy replies to tokenised prompts, and whether each hit `max_new_tokens`. Prompts are batched by length
    (order is restored); the common prefix of all of them is computed once."""
    n = common_prefix_length(ids)
    prefix = compute_prefix(model, ids[0][:n])
    replies = _Replies(len(ids), eos_ids(model), reply_end_ids(model, tokenizer), max_new_tokens,
                       token_texts(tokenizer) if stop_at_array_end else None)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with shared_prefix_attention(model):
        for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=len(order) <= batch_size):
            rows = order[start : start + batch_size]
            logits, state = _prefill(model, prefix, [list(ids[i][n:]) for i in rows], rows, pad_id)
            _decode_batch(model, prefix, state, logits, replies, logits_hook)
    texts = tokenizer.batch_decode(replies.tokens, skip_special_tokens=True)
    return [t.strip() for t in texts], replies.hits
