"""How SFT examples become batches: padded or packed, with the LM head applied only where the loss is.

Only the answer (about 110 of ~650 tokens on the demo) carries loss, yet a plain causal-LM forward projects every
position onto the whole vocabulary (49,152 for SmolLM2) in fp32: most of the memory of a CPU run. The collator
here adds two inputs transformers' causal LMs already understand:

- `logits_to_keep`, a boolean (batch, seq) mask of the positions whose *next* token is a target: the model applies
  its LM head to those hidden states only (`transformers.modeling_utils.slice_logits_to_keep`) and returns
  logits of shape (n_targets, vocab);
- `shift_labels`, those targets in the same order: the model's own `ForCausalLMLoss` then computes the same
  sum of cross-entropies over the same tokens, divided by the same `num_items_in_batch` the Trainer passes (the
  Trainer counts `shift_labels` when a batch has them, which equals its count of `labels[..., 1:] != -100`). So
  the loss, its normalisation and gradient accumulation are the Trainer's own, on fewer logits.

Packing (`sft.packing`) flattens each batch into one padding-free row with transformers'
`DataCollatorWithFlattening`: position ids restart at every record and the first label of each record is -100,
so no token predicts across a boundary. The model turns the restarting position ids into a block-diagonal causal
mask (`masking_utils.find_packed_sequence_indices`, any attention implementation) as long as it runs without a
KV cache, which the Trainer guarantees (`TrainingArguments.use_cache` is False).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from voc.core.schema import SFT
from voc.train.examples import IGNORE_INDEX

log = logging.getLogger("voc.train.sft")

Batch = dict[str, Any]


def completion_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep, targets): `keep[b, i]` is True where position i predicts a target (`labels[b, i + 1] != -100`);
    `targets` are those labels, flattened in the order `hidden_states[keep]` takes the positions."""
    shifted = torch.nn.functional.pad(labels[..., 1:], (0, 1), value=IGNORE_INDEX)
    keep = shifted != IGNORE_INDEX
    return keep, shifted[keep]


class CompletionOnlyCollator:
    """Wraps a collator so that the model computes logits (and the loss) at the target positions only.

    `drop_padding_mask` (right padding only): causal attention never lets a real token see the pads after it,
    so the padding mask changes nothing that carries loss. Without it, SDPA runs its plain causal kernel
    (flash attention, on CPU too) instead of the masked one, which holds (batch, heads, seq, seq) attention
    weights per layer for the backward pass: most of a CPU run's memory.
    """

    def __init__(self, collate: Callable[[list[dict]], Batch], drop_padding_mask: bool = False) -> None:
        self.collate, self.drop_padding_mask = collate, drop_padding_mask

    def __call__(self, features: list[dict]) -> Batch:
        batch = self.collate(features)
        if self.drop_padding_mask:
            batch.pop("attention_mask", None)
        batch["logits_to_keep"], batch["shift_labels"] = completion_targets(batch["labels"])
        return batch


def completion_logits_supported(model) -> bool:
    """True for transformers' own causal LMs: every one of them slices with `slice_logits_to_keep`, which takes a
    boolean mask. A remote-code model may slice `logits_to_keep` its own way, so it keeps full logits. A peft
    model is judged by the model it wraps (its forward passes the two inputs through)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return type(base).__module__.startswith("transformers.models.")


def make_collator(tokenizer, packing: bool, completion_only: bool = True) -> Callable[[list[dict]], Batch]:
    """The SFT collator: padded to the longest row (labels padded with -100), or flattened into one padding-free
    row when `packing`; optionally with logits only at the targets (and then, with right padding, no padding
    mask). `completion_only=False` is the collator SFT used before issue 12, the benchmarks' reference."""
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening

    if packing:
        # Flattening has no attention mask; it keeps only input ids, labels and position ids.
        collate: Callable[[list[dict]], Batch] = DataCollatorWithFlattening(separator_id=IGNORE_INDEX)
    else:
        collate = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)
    if not completion_only:
        return collate
    return CompletionOnlyCollator(collate, drop_padding_mask=not packing and tokenizer.padding_side == "right")


def batching_args(sft: SFT) -> dict[str, Any]:
    """TrainingArguments for the batch layout: length-grouped sampling where sft.sampling asks for it (rows of
    similar length share a batch, so less padding), and no KV cache in the forward (packed position ids only
    become a block-diagonal mask without one; a cache is useless in training anyway)."""
    return {"train_sampling_strategy": sft.sampling, "use_cache": False}
