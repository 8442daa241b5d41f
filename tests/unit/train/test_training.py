"""Completion-only masking, truncation accounting, full and LoRA training runs, and checkpoint fingerprints."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from voc.core.errors import InputError
from voc.model.loading import load_model, load_tokenizer
from voc.train.checkpoints import last_complete_checkpoint, prepare_checkpoints, run_fingerprint
from voc.train.examples import ChatTemplateError, build_dataset, tokenize_example
from voc.train.sft import _dvclive_callback, make_training_args, train_sft

TARGET = '[{"content": "app crashes", "L1": "App", "emotion": "negative"}]'








@pytest.fixture
def train_file(write_train_file) -> Path:
    return write_train_file(8)


def test_labels_mask_exactly_the_prompt(chat, tok):
    msgs = chat()
    ex = tokenize_example(msgs, tok, max_length=512)
    prompt = "<|im_start|>system\nLabel the comment.<|im_end|>\n<|im_start|>user\n" \
             "The camera app crashes after the update.<|im_end|>\n<|im_start|>assistant\n"
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    ids, labels = ex["input_ids"], ex["labels"]
    assert labels[:n_prompt] == [-100] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:]
    assert tok.decode(ids[:n_prompt]) == prompt
    assert tok.decode(labels[n_prompt:]) == TARGET + "<|im_end|>"
    assert ids[-1] == tok.eos_token_id and ex["attention_mask"] == [1] * len(ids)
    assert ex["comment_cut"] is False


def test_long_rows_cut_the_comment_and_are_counted(chat, tok):
    full = tokenize_example(chat(), tok, max_length=10_000)
    n_answer = sum(label != -100 for label in full["labels"])
    short = tokenize_example(chat("ok"), tok, max_length=10_000)
    cut = tokenize_example(chat(), tok, max_length=len(short["input_ids"]))
    assert cut["comment_cut"] is True and len(cut["input_ids"]) <= len(short["input_ids"])
    assert cut["labels"][-n_answer:] == full["input_ids"][-n_answer:]  # the answer is whole

    long_user = chat("crash " * 200)
    rows = [{"messages": chat("ok")}, {"messages": long_user}, {"messages": chat("ok")}]
    ds, stats = build_dataset(rows, tok, max_length=len(short["input_ids"]), max_truncated_share=0.5)
    assert stats["rows"] == 3 and stats["examples"] == 3 and stats["truncated"] == stats["comment_cut"] == 1
    assert stats["dropped_answer_too_long"] == 0 and stats["target_tokens"] == 3 * n_answer
    assert len(ds) == 3 and set(ds.column_names) == {"input_ids", "attention_mask", "labels"}


def test_template_breaking_prefix_raises(chat, tok, tiny_model_dir):
    bad = load_tokenizer(tiny_model_dir)
    # Renders the last message differently depending on whether it is the last one: no stable prefix.
    bad.chat_template = ("{% for m in messages %}{% if loop.last %}<|im_start|>LAST {{ m['content'] }}"
                         "{% else %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endif %}"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    with pytest.raises(ChatTemplateError, match="not a prefix"):
        tokenize_example(chat(), bad, max_length=512)
    with pytest.raises(InputError, match=r"rows\.jsonl:1: .*not a prefix"):
        build_dataset([{"messages": chat()}], bad, 512, source="rows.jsonl")
    with pytest.raises(ChatTemplateError, match="assistant"):
        tokenize_example(chat()[:-1], tok, max_length=512)


def test_training_args_from_params(sft_params, tmp_path):
    args = make_training_args(sft_params(max_steps=-1, epochs=2, warmup_ratio=0.1), tmp_path, use_cpu=True)
    assert args.max_steps == -1 and args.num_train_epochs == 2 and args.warmup_steps == 0.1
    assert args.bf16 is False and args.use_cpu is True
    assert args.report_to == []  # "none": no integration callbacks, DVCLive is added explicitly
    assert args.seed == 7 and args.data_seed == 7 and args.save_total_limit == 2
    with pytest.raises(InputError, match="sft.method"):
        make_training_args(sft_params(method="qlora"), tmp_path)


def test_lora_lr_replaces_lr_for_lora_only(sft_params, tmp_path):
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "lr": 5e-3}
    assert make_training_args(sft_params(method="lora", lora=lora), tmp_path, use_cpu=True).learning_rate == 5e-3
    assert make_training_args(sft_params(method="full", lora=lora), tmp_path, use_cpu=True).learning_rate == 1e-3
    unset = make_training_args(sft_params(method="lora", lora={**lora, "lr": None}), tmp_path, use_cpu=True)
    assert unset.learning_rate == 1e-3


def _run(sft_params, tmp_path: Path, name: str, train_file: Path, base: Path, **over) -> tuple[Path, dict]:
    d = tmp_path / name
    stats = train_sft(train_file, base, d / "model", d / "ckpt", d / "live", sft_params(**over))
    return d, stats


def test_full_run_logs_loss_saves_safetensors_and_is_deterministic(sft_params, tmp_path, train_file, tiny_model_dir):
    d, stats = _run(sft_params, tmp_path, "a", train_file, tiny_model_dir)
    assert stats["global_step"] == 3 and stats["examples"] == 8 and stats["truncated"] == 0
    assert stats["comment_cut"] == stats["dropped_answer_too_long"] == 0
    loss_tsv = d / "live" / "plots" / "metrics" / "loss.tsv"
    lines = loss_tsv.read_text().splitlines()
    assert lines[0] == "step\tloss" and [int(x.split("\t")[0]) for x in lines[1:]] == [1, 2, 3]
    assert json.loads((d / "live" / "train_stats.json").read_text())["truncated"] == 0
    assert json.loads((d / "live" / "metrics.json").read_text())["data"]["examples"] == 8
    files = {p.name for p in (d / "model").iterdir()}
    assert "model.safetensors" in files and "chat_template.jinja" in files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))]
    model, tok = load_model(d / "model")
    assert tok.chat_template and model.config.num_hidden_layers == 2
    base_w = load_file(str(tiny_model_dir / "model.safetensors"))
    tuned = load_file(str(d / "model" / "model.safetensors"))
    assert any(not torch.equal(base_w[k], tuned[k]) for k in base_w)  # training changed the weights

    d2, _ = _run(sft_params, tmp_path, "b", train_file, tiny_model_dir)  # same seed + data -> identical weights on CPU
    again = load_file(str(d2 / "model" / "model.safetensors"))
    assert all(torch.equal(tuned[k], again[k]) for k in tuned)


def test_lora_run_saves_merged_plain_model(sft_params, tmp_path, train_file, tiny_model_dir):
    d, stats = _run(sft_params, tmp_path, "lora", train_file, tiny_model_dir, method="lora", max_steps=2)
    files = {p.name for p in (d / "model").iterdir()}
    assert "model.safetensors" in files and "adapter_config.json" not in files
    tuned = load_file(str(d / "model" / "model.safetensors"))
    base_w = load_file(str(tiny_model_dir / "model.safetensors"))
    assert set(tuned) == set(base_w)  # plain Llama keys, no lora_A/lora_B left
    assert any(not torch.equal(base_w[k], tuned[k]) for k in base_w)
    model, _ = load_model(d / "model")
    assert type(model).__name__ == "LlamaForCausalLM"


def test_fingerprint_mismatch_wipes_checkpoints(sft_params, tmp_path, train_file, tiny_model_dir):
    ckpt = tmp_path / "ckpt"
    fp = run_fingerprint(train_file, sft_params(), tiny_model_dir, 1)
    prepare_checkpoints(ckpt, fp)
    (ckpt / "checkpoint-2").mkdir()
    (ckpt / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (ckpt / "checkpoint-4").mkdir()  # no trainer_state.json: a save cut short, never resumed from
    prepare_checkpoints(ckpt, fp)  # same run: kept
    assert last_complete_checkpoint(ckpt) == str(ckpt / "checkpoint-2")

    changed = run_fingerprint(train_file, sft_params(lr=5e-4), tiny_model_dir, 1)
    assert changed != fp and changed["train_sha256"] == fp["train_sha256"]
    prepare_checkpoints(ckpt, changed)
    assert last_complete_checkpoint(ckpt) is None and not (ckpt / "checkpoint-2").exists()
    assert json.loads((ckpt / "fingerprint.json").read_text()) == changed

    (ckpt / "checkpoint-9").mkdir()
    train_file.write_text(train_file.read_text() + "\n")  # data changed
    prepare_checkpoints(ckpt, run_fingerprint(train_file, sft_params(lr=5e-4), tiny_model_dir, 1))
    assert not (ckpt / "checkpoint-9").exists()


def test_new_weights_with_the_same_config_do_not_resume(sft_params, tmp_path, train_file, tiny_model_dir,
                                                        build_tiny_model):
    """The fingerprint covers the base model's weights, not only its config.json."""
    base = tmp_path / "base"
    shutil.copytree(tiny_model_dir, base)
    ckpt = tmp_path / "ckpt"
    prepare_checkpoints(ckpt, run_fingerprint(train_file, sft_params(), base, 1))
    (ckpt / "checkpoint-2").mkdir()
    (ckpt / "checkpoint-2" / "trainer_state.json").write_text("{}")
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert (other / "config.json").read_bytes() == (base / "config.json").read_bytes()
    assert (other / "model.safetensors").read_bytes() != (base / "model.safetensors").read_bytes()
    shutil.copyfile(other / "model.safetensors", base / "model.safetensors")
    prepare_checkpoints(ckpt, run_fingerprint(train_file, sft_params(), base, 1))
    assert last_complete_checkpoint(ckpt) is None and not (ckpt / "checkpoint-2").exists()


def test_training_curves_are_skipped_loudly_without_dvclive(monkeypatch, tmp_path, caplog):
    """A machine without DVC (the GPU box) still trains; the missing curves are a warning, not a crash."""
    monkeypatch.setitem(sys.modules, "dvclive", None)  # makes `import dvclive` raise ImportError
    with caplog.at_level("WARNING", logger="voc.train.sft"):
        assert _dvclive_callback(tmp_path / "live", resume=False) is None
    assert "dvclive is not importable" in caplog.text
