"""Loading models safely and generating from them, on CUDA (bf16) or CPU (fp32), chosen automatically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from voc.errors import UnsafeModelError


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


def load_model(path: str | Path, trust_remote_code: bool = False, allow_pickle: bool = False,
               device: str | None = None):
    """Load a causal LM and its tokenizer for inference; safetensors only unless `allow_pickle`."""
    from transformers import AutoModelForCausalLM

    check_safetensors(path, allow_pickle)
    dev, dtype = pick_device()
    device = device or dev
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=dtype, trust_remote_code=trust_remote_code, use_safetensors=not allow_pickle
    ).to(device)
    model.eval()
    return model, load_tokenizer(path, trust_remote_code)


def chat_prompt(tokenizer, messages: Sequence[dict]) -> str:
    """Render messages with the model's own chat template, ready for the assistant's reply."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def hit_limit(new_ids: Sequence[int], max_new_tokens: int, stop_ids: set[int]) -> bool:
    """True when generation ran out of room: `max_new_tokens` tokens and none of them a stop token (a finished
    row holds its end-of-turn token, then padding; a batch that finished early is shorter than the limit)."""
    return len(new_ids) >= max_new_tokens and not stop_ids.intersection(new_ids)


def _stop_ids(model, tokenizer) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    ids = eos if isinstance(eos, list) else [eos]
    return {int(i) for i in [*ids, tokenizer.eos_token_id] if i is not None}


@torch.inference_mode()
def generate_with_hits(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8,
                       max_prompt_tokens: int | None = None, desc: str = "generate") -> tuple[list[str], list[bool]]:
    """Greedy, batched generation; also says which outputs hit `max_new_tokens` (cut, not finished).
    Prompts are sorted by length so batches pad little; order is restored."""
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    hits = [False] * len(prompts)
    stop = _stop_ids(model, tokenizer)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=len(order) <= batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False,
                        truncation=max_prompt_tokens is not None, max_length=max_prompt_tokens)
        enc = enc.to(model.device)
        gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=tokenizer.pad_token_id)
        new = gen[:, enc["input_ids"].shape[1] :]
        for i, text, ids in zip(idx, tokenizer.batch_decode(new, skip_special_tokens=True), new.tolist(),
                                strict=True):
            out[i], hits[i] = text.strip(), hit_limit(ids, max_new_tokens, stop)
    return out, hits


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8,
             max_prompt_tokens: int | None = None, desc: str = "generate") -> list[str]:
    """Greedy, batched generation: the texts of `generate_with_hits`."""
    return generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, max_prompt_tokens, desc)[0]


def generate_chat_with_hits(model, tokenizer, conversations: Sequence[Sequence[dict]], max_new_tokens: int,
                            batch_size: int = 8, desc: str = "generate") -> tuple[list[str], list[bool]]:
    """Greedy replies to chat conversations, through the model's chat template, with the hit-the-limit flags."""
    prompts = [chat_prompt(tokenizer, conv) for conv in conversations]
    return generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, desc=desc)


def generate_chat(model, tokenizer, conversations: Sequence[Sequence[dict]], max_new_tokens: int,
                  batch_size: int = 8, desc: str = "generate") -> list[str]:
    """Greedy replies to chat conversations, through the model's chat template."""
    return generate_chat_with_hits(model, tokenizer, conversations, max_new_tokens, batch_size, desc)[0]
