"""`prompt.taxonomy: none` (issue 12, section 2): the fine-tuned model's prompts carry only the instructions, the
base model's evaluation still shows it the taxonomy, and `voc classify` can prompt a model trained that way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voc.core.errors import ParamsError
from voc.core.params import load_params
from voc.core.taxonomy import load_taxonomy
from voc.data.prompt import build_messages, eval_prompts, system_prompt

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests" / "fixtures" / "bad_input"
SEG = {"content": "Späte Lieferung", "L1": "Delivery", "L2": "Shipping", "L3": "Late", "emotion": "negative"}


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(FIX / "taxonomy.csv")


def test_none_keeps_the_instructions_and_drops_the_taxonomy(taxonomy):
    none, names = system_prompt(taxonomy, "none"), system_prompt(taxonomy, "names")
    for words in ("strict customer-experience classifier", "any language", "non-overlapping segments",
                  '"content", "L1", "L2", "L3", "emotion"', "taxonomy you were trained on (L1 > L2 > L3)"):
        assert words in none
    assert not [label for leaf in taxonomy.leaves for label in leaf if label in none]
    assert "Taxonomy (" not in none and "using only these labels" in names
    assert names.split(" Label each")[0] == none.split(" Label each")[0]  # the same rules before the labels


def test_the_base_model_is_shown_the_taxonomy_when_the_records_carry_none(taxonomy):
    records = [{"messages": build_messages("Späte Lieferung", system_prompt(taxonomy, mode), [SEG], taxonomy.levels)}
               for mode in ("none", "names")]
    assert eval_prompts(records[:1], taxonomy, "none", learned=True) == [records[0]["messages"][:2]]
    assert eval_prompts(records[:1], taxonomy, "none", learned=False) == [
        build_messages("Späte Lieferung", system_prompt(taxonomy, "names"))]
    assert eval_prompts(records[1:], taxonomy, "names", learned=False) == [records[1]["messages"][:2]]


def test_params_accept_none_and_name_the_choices(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["prompt"]["taxonomy"] = "none"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert load_params(tmp_path / "params.yaml", "prompt").prompt.taxonomy == "none"
    params["prompt"]["taxonomy"] = "nothing"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="none"):
        load_params(tmp_path / "params.yaml", "prompt")


def test_prepare_writes_none_prompts_and_eval_voc_shows_only_base_the_taxonomy(load_stage, tmp_path, tiny_model_dir,
                                                                                monkeypatch):
    comments = tmp_path / "comments.jsonl"
    comments.write_text("".join((ROOT / "data/raw/demo/comments.jsonl").read_text().splitlines(True)[:30]))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] |= {"comments": str(comments), "taxonomy": str(ROOT / "data/raw/demo/taxonomy.csv")}
    params["prompt"]["taxonomy"] = "none"
    params["eval"] |= {"limit": 2, "max_new_tokens": 4}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "prepared"
    args = ["--params", tmp_path / "params.yaml", "--out", out, "--metrics", tmp_path / "data.json",
            "--plot", tmp_path / "plot.json"]
    result = CliRunner().invoke(load_stage("prepare").main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    taxonomy = load_taxonomy(out / "taxonomy.csv")
    for split in ("train", "test"):
        rows = [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]
        assert {r["messages"][0]["content"] for r in rows} == {system_prompt(taxonomy, "none")}

    stage, seen = load_stage("eval_voc"), {}

    def fake_generate(backend, model_dir, prompts, *args, stop_at_array_end=False, constrain=None):
        assert stop_at_array_end  # a classification reply ends where its JSON array closes
        seen[name] = {msgs[0]["content"] for msgs in prompts}
        return ["[]"] * len(prompts), [False] * len(prompts)

    monkeypatch.setattr(stage, "generate_outputs_with_hits", fake_generate)
    for name in ("base", "sft"):
        args = ["--params", tmp_path / "params.yaml", "--model", tiny_model_dir, "--name", name, "--data", out,
                "--out", tmp_path / f"{name}.json", "--details", tmp_path / name]
        result = CliRunner().invoke(stage.main, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    assert seen == {"base": {system_prompt(taxonomy, "names")}, "sft": {system_prompt(taxonomy, "none")}}


def test_classify_prompts_with_none(tmp_path, monkeypatch):
    import voc.model.generate
    import voc.model.loading
    from voc.cli import main

    seen = []
    monkeypatch.setattr(voc.model.loading, "load_model", lambda *a, **k: (None, None))
    monkeypatch.setattr(voc.model.generate, "generate_chat",
                        lambda model, tok, chats, *a, **k: seen.extend(chats) or ["[]"] * len(chats))
    res = CliRunner().invoke(main, ["classify", "--model", str(tmp_path), "--taxonomy", str(FIX / "taxonomy.csv"),
                                    "--prompt-taxonomy", "none", "The parcel came late."])
    assert res.exit_code == 0, res.output
    assert seen == [build_messages("The parcel came late.", system_prompt(load_taxonomy(FIX / "taxonomy.csv"),
                                                                          "none"))]
