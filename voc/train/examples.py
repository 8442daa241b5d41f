"""Turn chat rows into completion-only SFT examples: the loss covers only the assistant's final reply.

Also the one place token lengths are measured (prepare's stats, sft's cut check, eval's answer budget), so every
stage counts tokens the way training does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from voc.core.errors import InputError, ParamsError, VocError
from voc.core.stats import percentile

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


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode(messages: Sequence[dict], tokenizer) -> tuple[list[int], list[int]]:
    """Prompt ids and answer ids (the reply up to its end-of-turn token), exactly as SFT trains on them.

    Prompt and completion are tokenized separately, so token boundaries match what the model sees when
    generating after the prompt. `prepare` and `eval_voc` measure lengths with this too, so their numbers are
    the ones sft sees.
    """
    prompt, completion = split_prompt_completion(messages, tokenizer)
    return _ids(tokenizer, prompt), _ids(tokenizer, _trim_after_eos(completion, tokenizer.eos_token))


def _summary(values: Sequence[int]) -> dict[str, int]:
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "p99": percentile(values, 0.99),
            "max": max(values, default=0)}


def token_length_stats(rows: Iterable[dict], tokenizer) -> dict:
    """Token lengths of prompt, answer and both (p50, p95, p99, max) over chat rows, for metrics/data.json."""
    prompts, answers = [], []
    for row in rows:
        p_ids, c_ids = encode(row["messages"], tokenizer)
        prompts.append(len(p_ids))
        answers.append(len(c_ids))
    totals = [p + a for p, a in zip(prompts, answers, strict=True)]
    return {"n": len(prompts), "prompt": _summary(prompts), "answer": _summary(answers), "total": _summary(totals)}


def answer_token_lengths(rows: Iterable[dict], tokenizer) -> list[int]:
    """Tokens of each row's gold answer, end-of-turn included (what generation must emit to stop)."""
    return [len(encode(row["messages"], tokenizer)[1]) for row in rows]


def _cut_comment(messages: Sequence[dict], tokenizer, room: int) -> list[int] | None:
    """Prompt ids with the last user turn (the comment) cut to its longest prefix, in characters, whose prompt
    fits in `room` tokens; the system prompt and the answer stay whole. None when even an empty comment
    does not fit. Binary search over the prefix length: about log2(len) tokenizations per cut example."""
    users = [i for i, m in enumerate(messages[:-1]) if m.get("role") == "user"]
    if not users or not isinstance(messages[users[-1]].get("content"), str):
        return None
    i, text = users[-1], messages[users[-1]]["content"]

    def prompt_ids(k: int) -> list[int]:
        cut = [*messages[:i], {**messages[i], "content": text[:k]}, *messages[i + 1:-1]]
        return _ids(tokenizer, _render(tokenizer, cut, True))

    best = prompt_ids(0)
    if len(best) > room:
        return None
    lo, hi = 0, len(text)  # a prefix of lo characters fits, one of hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ids = prompt_ids(mid)
        if len(ids) <= room:
            lo, best = mid, ids
        else:
            hi = mid
    return best


def _features(p_ids: list[int], c_ids: list[int]) -> dict:
    ids = p_ids + c_ids
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [IGNORE_INDEX] * len(p_ids) + c_ids}


def tokenize_example(messages: Sequence[dict], tokenizer, max_length: int) -> dict | None:
    """Token ids with labels = -100 on every prompt token and = input_ids on the assistant's reply.

    A sequence longer than `max_length` never loses answer tokens (training on an answer cut mid-JSON teaches
    the model to stop inside an array): the comment is cut instead (`comment_cut` is True), and when even an
    empty comment leaves no room for the whole answer, returns None (the caller counts it).
    """
    p_ids, c_ids = encode(messages, tokenizer)
    cut = len(p_ids) + len(c_ids) > max_length
    if cut:
        p_ids = _cut_comment(messages, tokenizer, max_length - len(c_ids))
        if p_ids is None:
            return None
    return {**_features(p_ids, list(c_ids)), "comment_cut": cut}


def _encode_rows(rows: Iterable[dict], tokenizer, source: str) -> list[tuple[list[dict], list[int], list[int]]]:
    out = []
    for line, row in enumerate(rows, start=1):
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not messages:
            raise InputError(source, line, "row has no 'messages' list",
                             'give every row {"id", "source", "messages": [...]} ending with the assistant turn')
        try:
            out.append((messages, *encode(messages, tokenizer)))
        except ChatTemplateError as e:
            raise InputError(source, line, str(e), "fix the row's messages or the model's chat template") from e
    return out


def check_cut_share(lengths: Sequence[int], max_length: int, max_share: float, source: str) -> None:
    """Refuse to train when more than `max_share` of the examples are longer than `max_length`: each would
    lose tokens (its comment, or its whole example). The error gives the max_length that fits 99 %."""
    over = sum(n > max_length for n in lengths)
    if not lengths or over / len(lengths) <= max_share:
        return
    raise ParamsError(
        "params.yaml", None,
        f"sft.max_length {max_length} is shorter than {over} of {len(lengths)} examples of {source} "
        f"({over / len(lengths):.1%}), more than sft.max_truncated_share {max_share}; they would lose tokens",
        f"set sft.max_length: {percentile(lengths, 0.99)} (fits 99 % of the examples; the longest has "
        f"{max(lengths)} tokens), or shorten the comments (prepare.max_chars), or raise sft.max_truncated_share "
        "to let that share have their comment cut (the answer is never cut)")


def build_dataset(rows: Iterable[dict], tokenizer, max_length: int, source: str = "<train rows>",
                  max_truncated_share: float = 0.01):
    """Tokenize every row into a `datasets.Dataset`; return it with length and cut counts.

    Refuses (ParamsError) when more than `max_truncated_share` of the rows are longer than `max_length`.
    Within that share, a long row has its comment cut (`comment_cut`), or is dropped when even an empty comment
    leaves no room for the answer (`dropped_answer_too_long`). Never silent: the trainer writes every count.
    """
    from datasets import Dataset

    encoded = _encode_rows(rows, tokenizer, source)
    lengths = [len(p) + len(c) for _, p, c in encoded]
    check_cut_share(lengths, max_length, max_truncated_share, source)
    columns: dict[str, list] = {"input_ids": [], "attention_mask": [], "labels": []}
    stats = {"rows": len(encoded), "examples": 0, "truncated": 0, "comment_cut": 0, "dropped_answer_too_long": 0,
             "length_p99": percentile(lengths, 0.99), "tokens": 0, "target_tokens": 0}
    for (messages, p_ids, c_ids), n in zip(encoded, lengths, strict=True):
        if n > max_length:
            stats["truncated"] += 1
            p_ids = _cut_comment(messages, tokenizer, max_length - len(c_ids))
            if p_ids is None:
                stats["dropped_answer_too_long"] += 1
                continue
            stats["comment_cut"] += 1
        ex = _features(p_ids, list(c_ids))
        stats["examples"] += 1
        stats["tokens"] += len(ex["input_ids"])
        stats["target_tokens"] += len(c_ids)
        for key in columns:
            columns[key].append(ex[key])
    if not stats["examples"]:
        raise InputError(source, None, f"no training example left out of {stats['rows']} rows "
                         f"({stats['dropped_answer_too_long']} had no room for their answer within "
                         f"max_length={max_length})", "raise sft.max_length or check the training file")
    return Dataset.from_dict(columns), stats
