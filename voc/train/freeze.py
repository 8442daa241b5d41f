"""Layer freezing for SFT (`sft.freeze`): the input embeddings and/or the bottom k transformer blocks get no update.

Why: much of what fine-tuning costs in general ability is spurious forgetting, an alignment shift in the lower
layers; keeping them as the base model had them is the cheapest control for it.

One meaning under both methods: a frozen part's parameters take no gradient step. Under full SFT those are the
base weights themselves. Under LoRA the base weights are frozen anyway, so freezing keeps the adapters inside the
frozen parts at their initial zero update (peft starts lora_B at 0): after merging, those parts are exactly the base
model's. `embeddings: true` then matters only when `sft.lora.target_modules` puts an adapter on the embeddings
(`all-linear` never does). With tied embeddings (SmolLM2) the output matrix is the same tensor, so it is frozen too.
"""

from __future__ import annotations

import logging

import torch

from voc.core.errors import ParamsError
from voc.core.schema import Freeze

log = logging.getLogger("voc.train.freeze")


def transformer_blocks(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The model's stack of transformer blocks, bottom first: the module list as long as config.num_hidden_layers
    (`model.layers` in Llama, `transformer.h` in GPT-2, ...), found without naming architectures."""
    n = model.config.num_hidden_layers
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise ParamsError("params.yaml", None, f"sft.freeze.layers: no list of {n} transformer blocks found in "
                      f"{type(model).__name__}", "set sft.freeze.layers: 0 for this architecture")


def _frozen_parameters(model: torch.nn.Module, freeze: Freeze) -> list[torch.nn.Parameter]:
    params: list[torch.nn.Parameter] = []
    if freeze.embeddings:
        params.extend(model.get_input_embeddings().parameters())
    if freeze.layers:
        blocks = transformer_blocks(model)
        if freeze.layers > len(blocks):
            raise ParamsError("params.yaml", None, f"sft.freeze.layers={freeze.layers} but the model has only "
                              f"{len(blocks)} transformer blocks", f"set sft.freeze.layers to at most {len(blocks)}")
        for block in blocks[: freeze.layers]:
            params.extend(block.parameters())
    return params


def parameter_counts(model: torch.nn.Module) -> dict[str, int]:
    """Trainable and total parameters, each tensor once (a tied output matrix is the embeddings)."""
    params = list(model.parameters())  # deduplicated by identity
    return {"trainable": sum(p.numel() for p in params if p.requires_grad), "total": sum(p.numel() for p in params)}


def apply_freeze(model: torch.nn.Module, freeze: Freeze) -> dict[str, int]:
    """Switch off the gradients of the frozen parts (after any LoRA wrapping); return the parameter counts.

    Raises ParamsError when nothing would be left to train (the Trainer would otherwise fail on an empty optimizer).
    """
    if freeze.embeddings and not any(p.requires_grad for p in model.get_input_embeddings().parameters()):
        log.warning("sft.freeze.embeddings froze nothing: no trainable parameter sits in the embeddings "
                    "(LoRA puts no adapter on them unless sft.lora.target_modules names them)")
    for p in _frozen_parameters(model, freeze):
        p.requires_grad_(False)
    counts = parameter_counts(model)
    if counts["trainable"] == 0:
        raise ParamsError("params.yaml", None, f"sft.freeze {freeze.model_dump()} leaves no parameter to train",
                          "freeze fewer layers (sft.freeze.layers) or unfreeze the embeddings")
    log.info("trainable parameters: %d of %d (%.2f %%)", counts["trainable"], counts["total"],
             100 * counts["trainable"] / counts["total"])
    return counts
