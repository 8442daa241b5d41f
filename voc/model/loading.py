"""Loading models safely, on CUDA (bf16) or CPU (fp32), chosen automatically."""

from __future__ import annotations

from pathlib import Path

import torch

from voc.core.errors import UnsafeModelError


def pick_device() -> tuple[str, torch.dtype]:
    """CUDA with bf16 when a GPU is present, else CPU with fp32 (bf16 matmuls are slow on most CPUs)."""
    if torch.cuda.is_available():
        return "cuda", torch.bfloat16
    return "cpu", torch.float32


def check_safetensors(model_dir: str | Path, allow_pickle: bool = False) -> None:
    """Refuse pickled weights (`*.bin`, `*.pt`): unpickling runs arbitrary code."""
    d = Path(model_dir)
    if not d.is_dir():
        return  # a hub id: transformers downloads safetensors when we pass use_safetensors=True
    pickled = [p.name for p in d.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl"}]
    has_safe = any(p.suffix == ".safetensors" for p in d.iterdir())
    if pickled and not has_safe and not allow_pickle:
        raise UnsafeModelError(
            f"{d}: holds pickled weights {pickled} and no .safetensors. Fix: convert the model to safetensors, "
            "or set model.allow_pickle: true if you trust its origin."
        )


def load_tokenizer(path: str | Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_weights(path: str | Path, trust_remote_code: bool = False, allow_pickle: bool = False,
                 dtype: torch.dtype | None = None, device: str | None = None):
    """The one loader of a causal LM's weights: safetensors only unless `allow_pickle` (only the assets stage
    passes it: every folder it writes, and so every later stage reads, is safetensors). Defaults to the
    device's own dtype (`pick_device`); training asks for fp32 master weights on CPU (the Trainer moves them)."""
    from transformers import AutoModelForCausalLM

    check_safetensors(path, allow_pickle)
    dev, default_dtype = pick_device()
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=dtype or default_dtype, trust_remote_code=trust_remote_code, use_safetensors=not allow_pickle
    )
    return model.to(device or dev)


def load_model(path: str | Path, trust_remote_code: bool = False, device: str | None = None):
    """A model in eval mode and its tokenizer, for inference."""
    model = load_weights(path, trust_remote_code, device=device)
    model.eval()
    return model, load_tokenizer(path, trust_remote_code)
