"""Greedy generation, the one place a model writes text: batched HF (CPU or one GPU, data-parallel ranks under
`accelerate launch`) or vLLM (optional, GPU). Every caller (eval_voc, the probe, replay answers, `voc classify`)
goes through here, so a speed-up lands everywhere at once.

The HF backend decodes through `voc.model.decode`: the prompts' shared prefix (the system prompt with the
taxonomy) is computed once per call and finished rows leave their batch. `reference_generate_with_hits`, one
`model.generate` per batch of whole prompts, serves models the shared-prefix attention cannot (see
`voc.model.prefix.supports_shared_prefix`) and is the reference the tests and benchmarks compare against.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from voc.core.errors import VocError
from voc.core.taxonomy import Taxonomy
from voc.model.decode import generate_shared_prefix
from voc.model.loading import load_model, pick_device
from voc.model.prefix import supports_shared_prefix
from voc.model.stopping import eos_ids, reply_end_ids


def generate_outputs(backend: str, model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                     batch_size: int, trust_remote_code: bool = False, stop_at_array_end: bool = False) -> list[str]:
    """Greedy generation with the chosen backend: `hf` (transformers, CPU or one GPU) or `vllm` (optional)."""
    return generate_outputs_with_hits(backend, model_dir, conversations, max_new_tokens, batch_size,
                                      trust_remote_code, stop_at_array_end)[0]


def generate_outputs_with_hits(backend: str, model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                               batch_size: int, trust_remote_code: bool = False,
                               stop_at_array_end: bool = False,
                               constrain: Taxonomy | None = None) -> tuple[list[str], list[bool]]:
    """`generate_outputs`, plus for each output whether it hit `max_new_tokens` (cut before it finished).
    `stop_at_array_end` (HF backend) ends a reply that opens a JSON array where the array closes; `constrain`
    (HF backend) makes every reply a classification of that taxonomy (`voc.model.constrained`)."""
    if backend == "vllm" and constrain is not None:
        raise VocError("eval.constrained is implemented for eval.backend hf only. Fix: set eval.backend: hf, or "
                       "eval.constrained: false")
    if backend == "vllm":
        return generate_vllm(model_dir, conversations, max_new_tokens, trust_remote_code)
    if backend != "hf":
        raise VocError(f"eval.backend={backend!r}. Fix: use hf or vllm in params.yaml")
    from accelerate import PartialState
    from accelerate.utils import gather_object

    # one process unless launched with `accelerate launch --num_processes N` (one GPU per rank, or CPU ranks)
    state = PartialState(cpu=pick_device()[0] == "cpu")
    device = str(state.device) if state.num_processes > 1 else None
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code, device=device)
    if state.num_processes == 1:
        return generate_chat_with_hits(model, tok, conversations, max_new_tokens, batch_size,
                                       desc=f"eval {model_dir}", stop_at_array_end=stop_at_array_end,
                                       constrain=constrain)
    # Data-parallel: each rank answers a contiguous shard; gather_object concatenates them in rank order.
    with state.split_between_processes(list(conversations)) as shard:
        outs, hits = generate_chat_with_hits(model, tok, shard, max_new_tokens, batch_size,
                                             desc=f"eval rank {state.process_index}",
                                             stop_at_array_end=stop_at_array_end, constrain=constrain)
    pairs = gather_object(list(zip(outs, hits, strict=True)))
    return [o for o, _ in pairs], [h for _, h in pairs]


def generate_vllm(model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                  trust_remote_code: bool) -> tuple[list[str], list[bool]]:
    """vLLM is optional (GPU only, not installable everywhere): imported lazily with a clear error.
    Returns the texts and whether each stopped at `max_new_tokens` (finish_reason "length")."""
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        raise VocError("eval.backend=vllm but vllm is not installed. Fix: `pip install vllm` on a CUDA machine, "
                       "or set eval.backend: hf") from None
    llm = LLM(model=model_dir, trust_remote_code=trust_remote_code)
    outs = llm.chat(conversations, SamplingParams(temperature=0.0, max_tokens=max_new_tokens))
    return [o.outputs[0].text.strip() for o in outs], [o.outputs[0].finish_reason == "length" for o in outs]


def chat_prompt(tokenizer, messages: Sequence[dict]) -> str:
    """Render messages with the model's own chat template, ready for the assistant's reply."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def hit_limit(new_ids: Sequence[int], max_new_tokens: int, stop_ids: set[int]) -> bool:
    """True when generation ran out of room: `max_new_tokens` tokens and none of them a stop token (a finished
    row holds its end-of-turn token, then padding; a batch that finished early is shorter than the limit)."""
    return len(new_ids) >= max_new_tokens and not stop_ids.intersection(new_ids)


def check_context(model, ids: Sequence[Sequence[int]], max_new_tokens: int) -> None:
    """Refuse, before any work, a prompt whose reply could run past the model's context: positions beyond
    `max_position_embeddings` are not an error to the model, just silently worse output."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if not ids or limit is None:
        return
    longest = max(range(len(ids)), key=lambda i: len(ids[i]))
    need = len(ids[longest]) + max_new_tokens
    if need > limit:
        raise VocError(
            f"prompt #{longest} is {len(ids[longest])} tokens; with max_new_tokens={max_new_tokens} it needs {need} "
            f"positions, but the model's context is {limit} tokens (config.max_position_embeddings). Fix: shorten "
            "the prompt (prompt.taxonomy: none for a fine-tuned model, which has learned the labels; names writes "
            "each label once; or a smaller taxonomy), lower max_new_tokens, or use a model with a longer context")


def generate_with_hits(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8,
                       desc: str = "generate", stop_at_array_end: bool = False,
                       constrain: Taxonomy | None = None) -> tuple[list[str], list[bool]]:
    """Greedy, batched generation; also says which outputs hit `max_new_tokens` (cut, not finished). Prompts
    that share a leading prefix have it computed once (`voc.model.decode`); `stop_at_array_end` ends a reply that
    opens a JSON array where that array closes (what follows a complete classification is never scored);
    `constrain` masks, at every step, the tokens that would leave the taxonomy's answer grammar."""
    ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    check_context(model, ids, max_new_tokens)
    if not ids:
        return [], []
    hook, shared = None, supports_shared_prefix(model)
    if constrain is not None:
        # imported here: llguidance (and the torch._dynamo it pulls in) costs seconds, and most generation is free
        from voc.model.constrained import TaxonomyConstraint

        if not shared:
            raise VocError(f"constrained decoding runs on the shared-prefix decoder, which {type(model).__name__} "
                           "cannot use (sliding window, soft-capping or a custom attention). Fix: set "
                           "eval.constrained: false (voc classify: drop --constrained)")
        hook = TaxonomyConstraint(tokenizer, constrain, max_new_tokens, eos_ids(model))
    if shared:
        return generate_shared_prefix(model, tokenizer, ids, max_new_tokens, batch_size, stop_at_array_end,
                                      logits_hook=hook, desc=desc)
    return reference_generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, desc)


@torch.inference_mode()
def reference_generate_with_hits(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8,
                                 desc: str = "generate") -> tuple[list[str], list[bool]]:
    """One `model.generate` per batch of whole, left-padded prompts: the path for models the shared-prefix
    attention cannot serve, and the reference for tests and benchmarks. Prompts are sorted by length so batches
    pad little; order is restored."""
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    hits = [False] * len(prompts)
    stop = reply_end_ids(model, tokenizer)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=len(order) <= batch_size):
        idx = order[start : start + batch_size]
        enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(model.device)
        gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=tokenizer.pad_token_id)
        new = gen[:, enc["input_ids"].shape[1] :]
        for i, text, ids in zip(idx, tokenizer.batch_decode(new, skip_special_tokens=True), new.tolist(),
                                strict=True):
            out[i], hits[i] = text.strip(), hit_limit(ids, max_new_tokens, stop)
    return out, hits


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8,
             desc: str = "generate") -> list[str]:
    """Greedy, batched generation: the texts of `generate_with_hits`."""
    return generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, desc)[0]


def generate_chat_with_hits(model, tokenizer, conversations: Sequence[Sequence[dict]], max_new_tokens: int,
                            batch_size: int = 8, desc: str = "generate", stop_at_array_end: bool = False,
                            constrain: Taxonomy | None = None) -> tuple[list[str], list[bool]]:
    """Greedy replies to chat conversations, through the model's chat template, with the hit-the-limit flags."""
    prompts = [chat_prompt(tokenizer, conv) for conv in conversations]
    return generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, desc, stop_at_array_end,
                              constrain)


def generate_chat(model, tokenizer, conversations: Sequence[Sequence[dict]], max_new_tokens: int,
                  batch_size: int = 8, desc: str = "generate", stop_at_array_end: bool = False,
                  constrain: Taxonomy | None = None) -> list[str]:
    """Greedy replies to chat conversations, through the model's chat template."""
    return generate_chat_with_hits(model, tokenizer, conversations, max_new_tokens, batch_size, desc,
                                   stop_at_array_end, constrain)[0]
