"""sft.freeze: frozen parts keep the base weights bit for bit after training, the rest moves; the trainable count is
logged; under LoRA the adapters in frozen parts stay at zero; impossible freezes fail with the fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from voc.core.errors import ParamsError
from voc.core.params import check_sft_params
from voc.model.loading import load_weights
from voc.train.freeze import apply_freeze, parameter_counts, transformer_blocks
from voc.train.sft import _load_model, train_sft


@pytest.fixture
def train_file(write_train_file) -> Path:
    return write_train_file(4)


def _train(sft_params, tmp_path: Path, train_file: Path, base: Path, **over) -> tuple[Path, dict]:
    d = tmp_path / "run"
    stats = train_sft(train_file, base, d / "model", d / "ckpt", d / "live", sft_params(max_steps=2, **over))
    return d, stats


def _split(weights: dict[str, torch.Tensor], base: dict[str, torch.Tensor], frozen: tuple[str, ...]):
    """(frozen tensors that moved, other tensors that stayed) against the base."""
    moved = [k for k in base if k.startswith(frozen) and not torch.equal(base[k], weights[k])]
    stayed = [k for k in base if not k.startswith(frozen) and torch.equal(base[k], weights[k])]
    return moved, stayed


def test_full_sft_leaves_frozen_parts_bit_for_bit_and_logs_the_count(sft_params, tmp_path, train_file,
                                                                     tiny_model_dir):
    d, stats = _train(sft_params, tmp_path, train_file, tiny_model_dir,
                      freeze={"embeddings": True, "layers": 1})
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    tuned = load_file(str(d / "model" / "model.safetensors"))
    moved, stayed = _split(tuned, base, ("model.embed_tokens.", "model.layers.0."))
    assert moved == []
    assert stayed == []  # every unfrozen tensor (block 1, the final norm) took a step
    frozen = sum(v.numel() for k, v in base.items() if k.startswith(("model.embed_tokens.", "model.layers.0.")))
    total = sum(v.numel() for v in base.values())  # tied: no separate lm_head tensor
    assert stats["trainable_params"] == total - frozen and stats["total_params"] == total
    assert json.loads((d / "live" / "train_stats.json").read_text())["trainable_params"] == total - frozen
    assert json.loads((d / "live" / "metrics.json").read_text())["params"] == {"trainable": total - frozen,
                                                                                "total": total}


def test_lora_keeps_the_adapters_of_frozen_blocks_at_zero(sft_params, tmp_path, train_file, tiny_model_dir):
    d, stats = _train(sft_params, tmp_path, train_file, tiny_model_dir, method="lora",
                      freeze={"embeddings": False, "layers": 1})
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    tuned = load_file(str(d / "model" / "model.safetensors"))
    assert set(tuned) == set(base)
    assert all(torch.equal(base[k], tuned[k]) for k in base if k.startswith("model.layers.0."))
    assert any(not torch.equal(base[k], tuned[k]) for k in base if k.startswith("model.layers.1."))
    unfrozen = _load_model(tiny_model_dir, check_sft_params(sft_params(method="lora")), False)
    assert 0 < stats["trainable_params"] < parameter_counts(unfrozen)["trainable"]
    assert stats["trainable_params"] * 2 == parameter_counts(unfrozen)["trainable"]  # both blocks are alike


def test_counts_and_tied_output_matrix(sft_params, tiny_model_dir, build_tiny_model, tmp_path):
    model = load_weights(tiny_model_dir, dtype=torch.float32, device="cpu")
    total = parameter_counts(model)["total"]
    assert parameter_counts(model) == {"trainable": total, "total": total}
    counts = apply_freeze(model, check_sft_params(sft_params(freeze={"embeddings": True})).freeze)
    assert model.lm_head.weight.requires_grad is False  # tied to the embeddings: the same tensor
    assert counts["trainable"] == total - model.get_input_embeddings().weight.numel()

    untied = load_weights(build_tiny_model(tmp_path / "untied", tie_word_embeddings=False), dtype=torch.float32,
                          device="cpu")
    apply_freeze(untied, check_sft_params(sft_params(freeze={"embeddings": True})).freeze)
    assert untied.lm_head.weight.requires_grad is True
    assert len(transformer_blocks(untied)) == 2


def test_impossible_freezes_fail_with_the_fix(sft_params, tiny_model_dir, caplog):
    model = load_weights(tiny_model_dir, dtype=torch.float32, device="cpu")
    with pytest.raises(ParamsError, match=r"sft\.freeze\.layers=3 but the model has only 2 transformer blocks.*"
                                          r"at most 2"):
        apply_freeze(model, check_sft_params(sft_params(freeze={"layers": 3})).freeze)
    lora = check_sft_params(sft_params(method="lora", freeze={"embeddings": True, "layers": 2}))
    with pytest.raises(ParamsError, match="leaves no parameter to train.*freeze fewer layers"):
        apply_freeze(_load_model(tiny_model_dir, lora, False), lora.freeze)
    lora = check_sft_params(sft_params(method="lora", freeze={"embeddings": True}))
    with caplog.at_level(logging.WARNING, logger="voc.train.freeze"):
        counts = apply_freeze(_load_model(tiny_model_dir, lora, False), lora.freeze)
    assert counts["trainable"] > 0 and "froze nothing" in caplog.text  # all-linear puts no adapter on embeddings


@pytest.mark.parametrize(("freeze", "match"), [({"layers": -1}, r"sft\.freeze\.layers=-1 is out of range"),
                                               ({"embeddings": "true"}, "not a YAML boolean"),
                                               ({"layer": 1}, r"unknown key sft\.freeze\.layer.*sft\.freeze\.layers")])
def test_schema_refuses_bad_freeze_values(sft_params, freeze, match):
    with pytest.raises(ParamsError, match=match):
        check_sft_params(sft_params(freeze=freeze))
