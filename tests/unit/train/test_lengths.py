"""Long comments are never cut silently: token-length stats in prepare, the sft refusal and comment-side cut,
and the eval budget (max_new_tokens against the gold answers, outputs that hit the limit)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from voc.core.errors import ParamsError
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import load_comments
from voc.data.prompt import build_messages, system_prompt
from voc.eval.predictions import answer_budget
from voc.model.generate import generate_with_hits, hit_limit
from voc.model.loading import load_model, load_tokenizer
from voc.train.examples import build_dataset, token_length_stats, tokenize_example
from voc.train.sft import train_sft

ROOT = Path(__file__).resolve().parents[3]
SYSTEM = "Label the comment."
TARGET = '[{"content": "app crashes", "L1": "App", "emotion": "negative"}]'


def chat(user: str, target: str = TARGET) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
            {"role": "assistant", "content": target}]


def n_tokens(tok, text: str) -> int:
    return len(tok(text, add_special_tokens=False)["input_ids"])


def lengths(tok, messages: list[dict]) -> tuple[int, int]:
    """Prompt and answer token counts, computed here by hand: prompt = generation prompt, answer + <|im_end|>."""
    prompt = tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    return n_tokens(tok, prompt), n_tokens(tok, messages[-1]["content"] + "<|im_end|>")


def nearest_rank(values: list[int], q: float) -> int:
    s = sorted(values)
    return s[math.ceil(q * len(s)) - 1]


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


def test_token_length_stats_match_the_sft_tokenisation(tok):
    rows = [{"messages": chat("crash " * n)} for n in (1, 3, 10, 40, 7)]
    stats = token_length_stats(rows, tok)
    prompts, answers = zip(*(lengths(tok, r["messages"]) for r in rows), strict=True)
    assert stats["prompt"] == {"p50": nearest_rank(prompts, 0.5), "p95": nearest_rank(prompts, 0.95),
                               "p99": nearest_rank(prompts, 0.99), "max": max(prompts)}
    assert stats["answer"]["max"] == max(answers) and stats["n"] == 5
    totals = [p + a for p, a in zip(prompts, answers, strict=True)]
    assert stats["total"]["p50"] == nearest_rank(totals, 0.5)
    ex = tokenize_example(rows[3]["messages"], tok, max_length=10_000)
    assert len(ex["input_ids"]) == totals[3]  # the very numbers sft sees


def test_sft_refuses_when_too_many_examples_would_be_cut(tok):
    rows = [{"messages": chat("ok")}, {"messages": chat("crash " * 60)}, {"messages": chat("fine")}]
    p, a = lengths(tok, rows[0]["messages"])
    longest = sum(lengths(tok, rows[1]["messages"]))
    with pytest.raises(ParamsError, match="sft.max_length") as err:
        build_dataset(rows, tok, max_length=p + a + 4, source="train.jsonl", max_truncated_share=0.01)
    msg = str(err.value)
    assert "1 of 3" in msg and f"sft.max_length: {longest}" in msg and "99 %" in msg and "train.jsonl" in msg
    # the same rows pass when the share allows one cut in three
    _, stats = build_dataset(rows, tok, max_length=p + a + 4, max_truncated_share=0.5)
    assert stats["truncated"] == 1 and stats["comment_cut"] == 1 and stats["length_p99"] == longest


def test_an_allowed_cut_shortens_the_comment_never_the_answer(tok):
    long = chat("The camera app crashes " * 40)
    p_short, a = lengths(tok, chat(""))
    max_length = p_short + a + 20
    ex = tokenize_example(long, tok, max_length=max_length)
    assert ex["comment_cut"] is True and len(ex["input_ids"]) <= max_length
    target = [t for t in ex["labels"] if t != -100]
    assert tok.decode(target) == TARGET + "<|im_end|>"  # the whole answer, closing bracket and end of turn
    text = tok.decode(ex["input_ids"])
    assert text.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nThe camera app crashes")
    kept = text.split("<|im_start|>user\n")[1].split("<|im_end|>")[0]
    assert 0 < len(kept) < len(long[1]["content"]) and long[1]["content"].startswith(kept)
    # the longest prefix that fits: one more character would not
    longer = chat(long[1]["content"][: len(kept) + 1])
    assert sum(lengths(tok, longer)) > max_length
    # nothing fits when even an empty comment leaves no room for the whole answer: dropped and counted
    assert tokenize_example(long, tok, max_length=p_short + a - 1) is None
    rows = [{"messages": chat("")}] * 3 + [{"messages": chat("crash " * 40, TARGET * 3)}]
    _, stats = build_dataset(rows, tok, max_length=p_short + a, max_truncated_share=0.5)
    assert stats["rows"] == 4 and stats["examples"] == 3 and stats["dropped_answer_too_long"] == 1
    assert stats["truncated"] == 1 and stats["comment_cut"] == 0


def test_train_sft_refuses_before_touching_checkpoints(tmp_path, tiny_model_dir, repo_params):
    rows = [{"id": str(i), "source": "voc", "messages": chat("crash " * (5 if i else 200))} for i in range(4)]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ckpt = tmp_path / "ckpt"
    (ckpt / "checkpoint-2").mkdir(parents=True)
    sft = repo_params()["sft"] | {"max_length": 128, "max_steps": 1, "batch_size": 2}
    with pytest.raises(ParamsError, match="1 of 4"):
        train_sft(train, tiny_model_dir, tmp_path / "model", ckpt, tmp_path / "live", sft)
    assert (ckpt / "checkpoint-2").is_dir() and not (tmp_path / "model").exists()


def test_hit_limit_reads_stop_tokens_and_padding():
    assert hit_limit([5, 6, 7], 3, {2}) is True
    assert hit_limit([5, 2, 2], 3, {2}) is False  # finished, then padded with the end token
    assert hit_limit([5, 6], 3, {2}) is False  # the batch stopped before the limit


def _biased_head(model, token: int) -> None:
    """Make greedy decoding always pick `token`, whatever the input."""
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    head.bias.data[token] = 10.0
    model.lm_head = head


def test_generation_reports_outputs_that_hit_max_new_tokens(tiny_model_dir):
    model, tok = load_model(tiny_model_dir)
    _biased_head(model, tok.convert_tokens_to_ids("a"))
    texts, hits = generate_with_hits(model, tok, ["The camera", "crash"], max_new_tokens=3)
    assert hits == [True, True] and texts == ["aaa", "aaa"]
    _biased_head(model, tok.eos_token_id)
    texts, hits = generate_with_hits(model, tok, ["The camera"], max_new_tokens=3)
    assert hits == [False] and texts == [""]


def test_answer_budget_warns_below_p99_with_the_value_that_fits(tok, caplog):
    rows = [{"messages": chat("ok", TARGET * k)} for k in (1, 2, 3)]
    p99 = max(lengths(tok, r["messages"])[1] for r in rows)
    with caplog.at_level(logging.WARNING, logger="voc.eval.predictions"):
        assert answer_budget(rows, tok, p99) == {"gold_answer_tokens_p99": p99}
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="voc.eval.predictions"):
        answer_budget(rows, tok, p99 - 1)
    assert f"eval.max_new_tokens: {p99}" in caplog.text and f"is {p99 - 1}" in caplog.text


def _demo_records(n: int) -> tuple[list[dict], str]:
    taxonomy = load_taxonomy(ROOT / "data/raw/demo/taxonomy.csv")
    system = system_prompt(taxonomy, "names")
    comments = load_comments(ROOT / "data/raw/demo/comments.jsonl", taxonomy).accepted[:n]
    return [{**r, "messages": build_messages(r["text"], system, r["segments"], taxonomy.levels)}
            for r in comments], system


def test_eval_voc_warns_and_counts_outputs_at_the_limit(load_stage, tmp_path, tiny_model_dir, caplog, repo_params):
    records, _ = _demo_records(3)
    data = tmp_path / "data"
    data.mkdir()
    (data / "taxonomy.csv").write_bytes((ROOT / "data/raw/demo/taxonomy.csv").read_bytes())
    for name in ("train", "test"):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    params = repo_params()
    params["eval"] |= {"max_new_tokens": 4, "limit": 3, "batch_size": 4}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "voc_base.json"
    args = ["--params", tmp_path / "params.yaml", "--model", tiny_model_dir, "--name", "base", "--data", data,
            "--out", out, "--details", tmp_path / "details"]
    with caplog.at_level(logging.WARNING, logger="voc.eval.predictions"):
        result = CliRunner().invoke(load_stage("eval_voc").main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    tok = load_tokenizer(tiny_model_dir)
    p99 = nearest_rank([lengths(tok, r["messages"])[1] for r in records], 0.99)
    assert f"eval.max_new_tokens: {p99}" in caplog.text
    metrics = json.loads(out.read_text())
    assert metrics["hit_max_new_tokens"] == 3 and metrics["gold_answer_tokens_p99"] == p99
    assert metrics["hit_max_new_tokens_rate"] == 1.0 and metrics["repeated_segment_outputs"] == 0  # 4-token cuts
    preds = [json.loads(x) for x in (tmp_path / "details" / "predictions.jsonl").read_text().splitlines()]
    assert [p["hit_max_new_tokens"] for p in preds] == [True] * 3


def test_prepare_reports_token_lengths(load_stage, tmp_path, tiny_model_dir, repo_params):
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join((ROOT / "data/raw/demo/comments.jsonl").read_text().splitlines(True)[:30]))
    params = repo_params()
    params["data"] |= {"comments": str(comments), "taxonomy": str(ROOT / "data/raw/demo/taxonomy.csv")}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out, metrics = tmp_path / "prepared", tmp_path / "data.json"
    args = ["--params", tmp_path / "params.yaml", "--out", out, "--metrics", metrics,
            "--plot", tmp_path / "plot.json", "--tokenizer", tiny_model_dir]
    result = CliRunner().invoke(load_stage("prepare").main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for f in ("train", "test") for x in (out / f"{f}.jsonl").read_text().splitlines()]
    tok = load_tokenizer(tiny_model_dir)
    prompts, answers = zip(*(lengths(tok, r["messages"]) for r in rows), strict=True)
    got = json.loads(metrics.read_text())["tokens"]
    assert got["prompt"]["p50"] == nearest_rank(prompts, 0.5) and got["prompt"]["max"] == max(prompts)
    assert got["answer"]["p95"] == nearest_rank(answers, 0.95) and got["answer"]["max"] == max(answers)
    assert got["n"] == len(rows)
