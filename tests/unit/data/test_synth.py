"""Self-synthesised replay on the tiny model: the user-turn prefix comes from the chat template, sampling is
seeded, every request written is accounted for, and the shares per category reach metrics/mix.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voc.core.errors import ParamsError, VocError
from voc.core.params import load_params
from voc.core.schema_replay import ReplaySynth
from voc.data import synth
from voc.data.decontam import find_hits
from voc.data.mixing import mix_records
from voc.model.loading import load_model, load_tokenizer

ROOT = Path(__file__).resolve().parents[3]
LLAMA3 = ("{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] | trim }}"
          "<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n"
          "{% endif %}")
GOOD = "Write a Python function that returns the second largest number in a list, and explain it briefly."
GERMAN = "Kannst du mir bitte erklären, wie ich in Python eine Liste sortiere und doppelte Einträge entferne?"
SPANISH = "¿Puedes explicarme cómo funciona una lista en Python y cómo puedo ordenar sus elementos?"


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir)


def test_the_user_turn_prefix_is_derived_from_the_chat_template(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    assert synth.user_turn_prefix(tok, "HINT") == "<|im_start|>system\nHINT<|im_end|>\n<|im_start|>user\n"
    tok.chat_template = LLAMA3  # another family's markers: nothing about ChatML is hard-coded
    assert synth.user_turn_prefix(tok, "HINT") == ("<|start_header_id|>system<|end_header_id|>\n\nHINT<|eot_id|>"
                                                   "<|start_header_id|>user<|end_header_id|>\n\n")
    tok.chat_template = "{% for m in messages %}{% if m['role'] != 'system' %}{{ m['content'] }}{% endif %}{% endfor %}"
    with pytest.raises(VocError, match="system hint"):
        synth.user_turn_prefix(tok, "HINT")


def test_plan_splits_n_by_weight_and_cycles_languages():
    planned = synth.plan(ReplaySynth(n=10, categories={"code": 3, "multilingual": 2}, languages=["de", "fr"]))
    assert [p.key for p in planned][:3] == ["code-0000", "code-0001", "code-0002"]
    assert sum(p.category == "code" for p in planned) == 6
    multi = [p for p in planned if p.category == "multilingual"]
    assert [p.language for p in multi] == ["de", "fr", "de", "fr"] and "German" in multi[0].hint
    assert all(p.language is None and "{language}" not in p.hint for p in planned if p.category == "code")


@pytest.mark.parametrize(("cfg", "words"), [
    ({"categories": {"poetry": 1}}, "no built-in hint"),
    ({"categories": {"multilingual": 1}, "languages": ["xx"]}, "does not know"),
    ({"categories": {"multilingual": 1}, "languages": []}, "languages is empty"),
])
def test_a_plan_it_cannot_write_is_a_params_error(cfg, words):
    with pytest.raises(ParamsError, match=words):
        synth.plan(ReplaySynth(n=4, **cfg))
    synth.plan(ReplaySynth(n=4, categories={"poetry": 1}, hints={"poetry": "You are a poet."}))  # a hint fixes it


def test_the_replay_stage_checks_the_plan_before_loading_the_model(load_stage, tmp_path):
    params = _params(tmp_path, {"sources": [{"name": "syn", "kind": "synth"}],
                                "generate": {"max_new_tokens": 4, "batch_size": 2},
                                "synth": {"n": 2, "categories": {"poetry": 1}}})
    res = CliRunner().invoke(load_stage("replay").main, ["--params", str(params), "--model", str(tmp_path / "none"),
                                                     "--out", str(tmp_path / "r.jsonl"), "--metrics",
                                                     str(tmp_path / "r.json")])
    assert isinstance(res.exception, ParamsError) and res.exception.path == str(params)
    assert "replay.synth.hints" in res.exception.fix


def _params(tmp_path: Path, replay: dict) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["replay"] = replay
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(("sources", "synth_block", "words"), [
    ([{"name": "s", "kind": "synth"}], None, "replay.synth is missing"),
    ([{"name": "r", "kind": "json", "path": "x.jsonl"}], {"n": 2, "categories": {"code": 1}}, "no replay source"),
    ([{"name": "s", "kind": "synth"}], {"n": 2, "categories": {"voc": 1}}, "reserves"),
    ([{"name": "s", "kind": "synth"}], {"n": 2, "categories": {"code": 1}, "hints": {"cod": "x"}}, "not in"),
])
def test_synth_params_are_checked(tmp_path, sources, synth_block, words):
    replay = {"sources": sources, "generate": {"max_new_tokens": 4, "batch_size": 2}}
    if synth_block:
        replay["synth"] = synth_block
    with pytest.raises(ParamsError, match=words):
        load_params(_params(tmp_path, replay), "replay")


def test_the_commented_example_in_params_yaml_loads_and_plans(tmp_path):
    """The block params.yaml offers for turning synth on, uncommented, is valid and every category has a hint."""
    text = (ROOT / "params.yaml").read_text()
    block = text[text.index("  # synth:"):].split("\n\n")[0]
    example = yaml.safe_load("\n".join(line.replace("  # ", "", 1) for line in block.splitlines()))
    assert example["synth"]["categories"]["reasoning"] == 45
    replay = yaml.safe_load(text)["replay"]
    replay["sources"].append({"name": "synth", "kind": "synth"})
    cfg = load_params(_params(tmp_path, {**replay, **example}), "replay").replay.synth
    assert len(synth.plan(cfg)) == cfg.n


def test_sampling_is_seeded_and_does_not_depend_on_the_batch(tiny):
    model, tok = tiny
    prompts = [synth.user_turn_prefix(tok, "You help with code.")] * 3 + ["<|im_start|>user\nHi<|im_end|>\n"]
    keys = ["a", "b", "c", "d"]

    def run(seed: int, batch: int) -> list[str]:
        return synth.sample_with_hits(model, tok, prompts, keys, seed, "request", 1.0, 0.9, 12, batch)[0]

    first = run(0, 4)
    assert run(0, 4) == first and run(0, 1) == first
    assert len(set(first[:3])) == 3  # the same prompt, three different draws
    assert run(1, 4) != first


def test_every_filter_is_counted_and_only_survivors_are_answered(tiny_model_dir, monkeypatch):
    """Scripted generations (one per filter path) through synthesise: each drop lands under its filter and
    category, requested = records + drops, and the answer call sees only the requests that passed."""
    tok = load_tokenizer(tiny_model_dir)
    requests = {"code-0000": (GOOD, False), "code-0001": (GOOD, False), "code-0002": (GOOD + " Now.", True),
                "multilingual-0000": (GERMAN, False), "multilingual-0001": (GOOD, False),
                "multilingual-0002": (SPANISH, False)}
    answers = {"code-0000": ("def second(xs): return sorted(set(xs))[-2]", False),
               "multilingual-0000": ("Sure, here is how you sort a list in Python and remove duplicates.", False),
               "multilingual-0002": ("Claro, una lista", True)}
    calls = []

    def fake(model, tokenizer, prompts, keys, seed, salt, *rest):
        calls.append((salt, prompts, keys))
        table = requests if salt == "request" else answers
        return [table[k][0] for k in keys], [table[k][1] for k in keys]

    monkeypatch.setattr(synth, "sample_with_hits", fake)
    cfg = ReplaySynth(n=6, categories={"code": 1, "multilingual": 1})
    rows, rep = synth.synthesise(lambda: (None, tok), cfg, "syn")
    assert [r["id"] for r in rows] == ["syn-code-0000"] and rows[0]["category"] == "code"
    assert calls[1][2] == ["code-0000", "multilingual-0000", "multilingual-0002"]
    assert calls[0][1][0].endswith("<|im_start|>user\n") and "German" in calls[0][1][3]
    dropped = {k: v for k, v in rep["dropped"].items() if v}
    assert dropped == {"duplicate": 1, "request_unterminated": 1, "request_language_mismatch": 1,
                       "answer_language_mismatch": 1, "answer_unterminated": 1}
    assert rep["categories"]["multilingual"]["dropped"]["answer_language_mismatch"] == 1
    assert rep["requested"] == 6 == rep["records"] + sum(rep["dropped"].values())


def test_the_replay_stage_combines_sources_and_mix_reports_categories(load_stage, tiny_model_dir, tmp_path):
    """On the tiny model: the replay stage writes synth, shipped-prompt and local-file sources, synth's counts add
    up and a rerun writes the same; the mix stage reports the shares per source and per category."""
    local = tmp_path / "local.jsonl"
    local.write_text(json.dumps({"instruction": "Name a colour.", "output": "Blue.", "category": "general"}) + "\n")
    params = _params(tmp_path, {
        "sources": [{"name": "replay", "kind": "replay", "path": str(ROOT / "data/raw/general_prompts.jsonl")},
                    {"name": "syn", "kind": "synth"}, {"name": "local", "kind": "json", "path": str(local)}],
        "generate": {"max_new_tokens": 4, "batch_size": 4, "limit": 4},
        "synth": {"n": 6, "categories": {"code": 1, "math": 1}, "max_request_tokens": 6, "max_new_tokens": 6,
                  "filters": {"min_request_words": 1, "min_answer_words": 1, "max_repeated": 1}}})
    outs = []
    for run in ("a", "b"):
        out, metrics = tmp_path / f"replay_{run}.jsonl", tmp_path / f"replay_{run}.json"
        res = CliRunner().invoke(load_stage("replay").main, ["--params", str(params), "--model", str(tiny_model_dir),
                                                         "--out", str(out), "--metrics", str(metrics)])
        assert res.exit_code == 0, res.output
        outs.append((out.read_text(), json.loads(metrics.read_text())))
    assert outs[0] == outs[1]
    rep = outs[0][1]["syn"]
    assert rep["requested"] == 6 == rep["records"] + sum(rep["dropped"].values())
    for cat in rep["categories"].values():
        assert cat["requested"] == cat["records"] + sum(cat["dropped"].values())
    rows = [json.loads(line) for line in outs[0][0].splitlines()]
    assert all("category" in r for r in rows) and {"local"} <= {r["source"] for r in rows}
    for name, cat in (("replay", "writing"), ("syn", "math")):  # a random tiny model may write nothing usable
        if not any(r["source"] == name for r in rows):
            rows.append({"id": f"{name}-x", "source": name, "category": cat, "messages": rows[-1]["messages"]})
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"id": f"c{i}", "text": "t", "messages": rows[-1]["messages"]}) + "\n"
                             for i in range(12)))
    mix_json = tmp_path / "mix.json"
    res = CliRunner().invoke(load_stage("mix").main, [
        "--params", str(params), "--train", str(train), "--replay", str(replay), "--tokenizer", str(tiny_model_dir),
        "--out", str(tmp_path / "mixed.jsonl"), "--metrics", str(mix_json)])
    assert res.exit_code == 0, res.output
    mix = json.loads(mix_json.read_text())
    assert mix["categories"]["voc"]["records"] == 12 and mix["categories"]["general"]["records"] >= 1
    assert sum(c["records"] for c in mix["categories"].values()) == mix["records"]
    assert abs(sum(c["record_share"] for c in mix["categories"].values()) - 1) < 1e-3
    for name in ("replay", "syn", "local"):
        src = mix["sources"][name]
        assert sum(c["records"] for c in src["categories"].values()) == src["records"]


def test_mix_report_shares_per_category():
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a b"}]
    customer = [{"id": f"c{i}", "messages": msgs} for i in range(6)]
    replay = {"syn": [{"id": f"s{i}", "category": "code" if i % 2 else "math", "messages": msgs} for i in range(4)],
              "plain": [{"id": f"p{i}", "messages": msgs} for i in range(4)]}
    _, rep = mix_records(customer, replay, {"syn": 1, "plain": 1}, 0.5, seed=0)
    assert rep["categories"]["voc"] == {"records": 6, "tokens": 18, "record_share": 0.5, "token_share": 0.5}
    assert set(rep["categories"]) == {"voc", "code", "math", "uncategorised"}
    assert rep["categories"]["uncategorised"]["records"] == 3 and "categories" not in rep["sources"]["plain"]
    assert set(rep["sources"]["syn"]["categories"]) == {"code", "math"}


def test_the_decontam_scan_of_the_mixed_set_catches_a_synth_row():
    """The decontam stage scans every mixed row, synth ones included, and names their source."""
    question = "Which of the following is the body cavity that contains the pituitary gland in the human skull"
    row = {"id": "syn-math-0001", "source": "syn", "category": "math",
           "messages": [{"role": "user", "content": question + "?"}, {"role": "assistant", "content": "B"}]}
    hits = find_hits([row], {"mmlu": [question]}, 13)
    assert [(h.train_source, h.test_set) for h in hits] == [("syn", "mmlu")]
