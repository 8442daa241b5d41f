"""Turn chat rows into completion-only SFT examples: the loss covers only the assistant's final reply."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from voc.errors import InputError, VocError

IGNORE_INDEX = -100  # the label value torch's cross-entropy skips


class ChatTemplateError(VocError, ValueError):
    """The model's chat template cannot be split into a prompt and a completion."""


def _render(tokenizer, messages: Sequence[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False,
                                         add_generation_prompt=generation_prompt)


def split_prompt_completion(messages: Sequence[dict], tokenizer) -> tuple[str, str]:
    """Render with the model's own template and split it where the final assistant turn's content starts.

    The prompt is exactly what generation sees at inference (messages[:-1] + generation prompt), so it
    must be a prefix of the full rendering; templates that rewrite earlier turns break that and are refused.
    """
    if not messages or messages[-1].get("role") != "assistant":
        raise ChatTemplateError("the last message must be the assistant's target (role 'assistant')")
    full = _render(tokenizer, messages, False)
    prompt = _render(tokenizer, messages[:-1], True)
    if not full.startswith(prompt):
        raise ChatTemplateError(
            "the chat template of messages[:-1] with add_generation_prompt=True is not a prefix of the full "
            "conversation's rendering, so the prompt cannot be masked. Fix: use a model whose chat template "
            f"renders earlier turns identically whatever follows them. Prompt ends {prompt[-60:]!r}, "
            f"full text there reads {full[len(prompt) - 60:len(prompt)]!r}"
        )
    return prompt, full[len(prompt):]


def _trim_after_eos(completion: str, eos: str | None) -> str:
    """Keep the completion up to and including its last end-of-turn token (drop the template's trailing
    newline), so the model learns to stop, not to emit whitespace after stopping."""
    if eos and eos in completion:
        return completion[: completion.rindex(eos) + len(eos)]
    return completion


def tokenize_example(messages: Sequence[dict], tokenizer, max_length: int) -> dict | None:
    """Token ids with labels = -100 on every prompt token and = input_ids on the assistant's reply.

    Prompt and completion are tokenized separately and concatenated, so token boundaries match what the
    model sees when generating after the prompt. Sequences longer than `max_length` are cut on the right
    (`truncated` is True); if no target token survives the cut, returns None (the caller counts it).
    """
    prompt, completion = split_prompt_completion(messages, tokenizer)
    completion = _trim_after_eos(completion, tokenizer.eos_token)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    ids = p_ids + c_ids
    labels = [IGNORE_INDEX] * len(p_ids) + list(c_ids)
    truncated = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE_INDEX for label in labels):
        return None
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels, "truncated": truncated}


def build_dataset(rows: Iterable[dict], tokenizer, max_length: int, source: str = "<train rows>"):
    """Tokenize every row into a `datasets.Dataset`; return it with counts of truncated and dropped rows.

    Rows are never dropped silently: `stats` says how many lost their tail to `max_length` and how many had
    no target token left (dropped); the trainer writes these counts into the training metrics.
    """
    from datasets import Dataset

    columns: dict[str, list] = {"input_ids": [], "attention_mask": [], "labels": []}
    stats = {"rows": 0, "examples": 0, "truncated": 0, "dropped_no_target": 0, "tokens": 0, "target_tokens": 0}
    for line, row in enumerate(rows, start=1):
        stats["rows"] += 1
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not messages:
            raise InputError(source, line, "row has no 'messages' list",
                             'give every row {"id", "source", "messages": [...]} ending with the assistant turn')
        try:
            ex = tokenize_example(messages, tokenizer, max_length)
        except ChatTemplateError as e:
            raise InputError(source, line, str(e), "fix the row's messages or the model's chat template") from e
        if ex is None:
            stats["dropped_no_target"] += 1
            continue
        stats["truncated"] += int(ex["truncated"])
        stats["examples"] += 1
        stats["tokens"] += len(ex["input_ids"])
        stats["target_tokens"] += sum(label != IGNORE_INDEX for label in ex["labels"])
        for key in columns:
            columns[key].append(ex[key])
    if not stats["examples"]:
        raise InputError(source, None, f"no training example left out of {stats['rows']} rows "
                         f"({stats['dropped_no_target']} had no target token within max_length={max_length})",
                         "raise sft.max_length or check the training file")
    return Dataset.from_dict(columns), stats
