"""Exact loss masking under the SFT batch layouts (issue 12 §3): per-record losses and gradients are the same with
full or completion-only logits, padded or packed, and a gradient-accumulation Trainer run matches today's."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer

from voc.core.errors import InputError
from voc.core.params import check_sft_params
from voc.model.loading import load_tokenizer
from voc.train.batching import completion_logits_supported, completion_targets, make_collator
from voc.train.examples import IGNORE_INDEX, build_dataset
from voc.train.sft import _load_model, make_training_args

TARGET = '[{"content": "app crashes", "L1": "App", "emotion": "negative"}]'
LAYOUTS = [(False, False), (False, True), (True, False), (True, True)]  # (packing, completion_only)






@pytest.fixture(scope="module")
def dataset(tok):
    """Eight records of different lengths and different answer lengths, so padding and boundaries matter."""
    rows = [{"messages": [{"role": "system", "content": "Label the comment."},
                          {"role": "user", "content": "The camera app crashes. " * (1 + i % 3) + str(i)},
                          {"role": "assistant", "content": TARGET * (1 + i % 2)}]} for i in range(8)]
    return build_dataset(rows, tok, 256)[0]


def _model(tiny_model_dir, attn: str = "sdpa"):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, attn_implementation=attn)
    model.config.use_cache = False  # as the Trainer sets it (TrainingArguments.use_cache)
    return model


def _per_record(model, batch: dict, packing: bool, completion_only: bool) -> tuple[list[float], torch.Tensor]:
    """Per-record mean losses recomputed from the returned logits, and the model's own batch loss."""
    out = model(**batch)
    keep, targets = completion_targets(batch["labels"])
    logits = out.logits if completion_only else out.logits[keep]
    counts = _packed_counts(batch) if packing else keep.sum(-1).tolist()
    losses = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")
    return [chunk.mean().item() for chunk in losses.split(counts)], out.loss


def _packed_counts(batch: dict) -> list[int]:
    """Targets per record of a flattened row: records start where the position ids restart."""
    keep, _ = completion_targets(batch["labels"])
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist() + [keep.shape[1]]
    return [int(keep[0, a:b].sum()) for a, b in zip(starts, starts[1:], strict=False)]


def test_completion_targets_are_the_shifted_labels():
    labels = torch.tensor([[-100, -100, 5, 6, -100], [-100, 7, 8, -100, -100]])
    keep, targets = completion_targets(labels)
    assert keep.tolist() == [[False, True, True, False, False], [True, True, False, False, False]]
    assert targets.tolist() == [5, 6, 7, 8]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_per_record_losses_and_gradients_match_in_every_layout(tiny_model_dir, tok, dataset, attn):
    """Reference: each record alone, full logits. Padded/packed x full/completion-only give the same per-record
    losses, the same normalised batch loss (sum / num_items_in_batch) and the same gradients."""
    model = _model(tiny_model_dir, attn)
    feats = [dataset[i] for i in range(4)]
    alone = []
    for f in feats:
        row = {k: torch.tensor([f[k]]) for k in ("input_ids", "attention_mask", "labels")}
        alone.append(model(**row).loss.item())
    n_items = sum(sum(label != IGNORE_INDEX for label in f["labels"][1:]) for f in feats)
    grads = []
    for packing, completion_only in LAYOUTS:
        batch = make_collator(tok, packing, completion_only)(feats)
        # completion-only padded batches drop the padding mask (right padding, causal attention)
        assert ("attention_mask" in batch) is (not packing and not completion_only)
        assert ("logits_to_keep" in batch) is completion_only
        model.zero_grad()
        per, loss = _per_record(model, {**batch, "num_items_in_batch": torch.tensor(n_items)}, packing,
                                completion_only)
        assert per == pytest.approx(alone, rel=1e-5, abs=1e-6), (packing, completion_only)
        assert loss.item() == pytest.approx(sum(a * c for a, c in zip(alone, _counts(feats), strict=True)) / n_items,
                                            rel=1e-5)
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    for g in grads[1:]:
        torch.testing.assert_close(g, grads[0], rtol=1e-4, atol=1e-6)


def _counts(feats: list[dict]) -> list[int]:
    return [sum(label != IGNORE_INDEX for label in f["labels"][1:]) for f in feats]


def test_completion_only_logits_are_only_the_targets(tiny_model_dir, tok, dataset):
    """The point of it: logits shrink from (batch, seq, vocab) to (targets, vocab)."""
    feats = [dataset[i] for i in range(4)]
    batch = make_collator(tok, packing=False)(feats)
    logits = _model(tiny_model_dir)(**batch).logits
    assert logits.shape == (sum(_counts(feats)), len(tok))
    assert logits.shape[0] < batch["input_ids"].numel() / 2


def _train(sft_params, tmp_path, tiny_model_dir, dataset, collator, name: str) -> tuple[list[float], dict]:
    """Two optimizer steps of two accumulated batches each, so the Trainer's loss normalisation is exercised."""
    sft = sft_params(lr=1e-2, max_steps=2, grad_accum=2, max_length=256, save_steps=100)
    args = make_training_args(sft, tmp_path / name, use_cpu=True, save_strategy="no")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_grad_accum_training_matches_todays_trainer(sft_params, tmp_path, tiny_model_dir, tok, dataset):
    """Today's configuration (padded, full logits, the model's own loss) vs completion-only, padded and packed,
    with gradient accumulation: the same logged losses and the same weights after two optimizer steps."""
    today = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=IGNORE_INDEX)
    ref_losses, ref_weights = _train(sft_params, tmp_path, tiny_model_dir, dataset, today, "today")
    assert len(ref_losses) == 2
    for packing in (False, True):
        collator = make_collator(tok, packing)
        losses, weights = _train(sft_params, tmp_path, tiny_model_dir, dataset, collator, f"new{packing}")
        assert losses == pytest.approx(ref_losses, rel=1e-4)
        for k, w in ref_weights.items():
            torch.testing.assert_close(weights[k], w, rtol=1e-4, atol=1e-5)


def test_params_choose_sampling_and_training_runs_without_a_cache(sft_params, tmp_path):
    args = make_training_args(sft_params(sampling="group_by_length"), tmp_path, use_cpu=True)
    assert args.train_sampling_strategy == "group_by_length"
    assert args.use_cache is False  # packed position ids become a block-diagonal mask only without a KV cache
    assert make_training_args(sft_params(), tmp_path, use_cpu=True).train_sampling_strategy == "random"
    assert check_sft_params(sft_params()).packing is False
    with pytest.raises(InputError, match="sft.packing"):
        check_sft_params(sft_params(packing="yes"))
    with pytest.raises(InputError, match="sft.sampling"):
        check_sft_params(sft_params(sampling="sorted"))


def test_completion_logits_for_transformers_models_and_peft_only(sft_params, tiny_model_dir):
    """Training loads SDPA attention; a peft model counts as the model it wraps; other model code keeps full
    logits (it may slice `logits_to_keep` its own way)."""
    full = _load_model(tiny_model_dir, check_sft_params(sft_params()), False)
    assert full.config._attn_implementation == "sdpa" and completion_logits_supported(full)
    lora = _load_model(tiny_model_dir, check_sft_params(sft_params(method="lora")), False)
    assert type(lora).__module__.startswith("peft.") and completion_logits_supported(lora)

    class RemoteCode(torch.nn.Module):
        pass

    assert not completion_logits_supported(RemoteCode())


def test_padding_mask_is_dropped_for_right_padding_only(tiny_model_dir, tok, dataset):
    """Without a mask, a right-padded row's real tokens see exactly what they saw with it (causal attention); a
    left-padded row's would not, so a left-padding tokenizer keeps its mask."""
    feats = [dataset[i] for i in range(4)]
    assert tok.padding_side == "right" and "attention_mask" not in make_collator(tok, packing=False)(feats)
    left = load_tokenizer(tiny_model_dir)
    left.padding_side = "left"
    assert "attention_mask" in make_collator(left, packing=False)(feats)
