"""`eval.constrained` and `voc classify --constrained` reach the decoder: the stage hands it the taxonomy only when
asked, and the command's constrained replies are valid classifications even from a random-weights model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voc.core.taxonomy import load_taxonomy
from voc.data.prompt import build_messages, system_prompt

ROOT = Path(__file__).resolve().parents[3]
TAXONOMY = ROOT / "tests/fixtures/bad_input/taxonomy.csv"


def test_voc_classify_constrained_writes_only_valid_classifications(tiny_model_dir, tmp_path):
    from voc.cli import main

    texts = ["The parcel came late.", "The app logs me out", "Night vision is great"]
    rows = {}
    for mode in ("--constrained", "--free"):
        out = tmp_path / f"{mode[2:]}.jsonl"
        res = CliRunner().invoke(main, ["classify", "--model", str(tiny_model_dir), "--taxonomy", str(TAXONOMY),
                                        "--max-new-tokens", "160", "--output", str(out), mode, *texts])
        assert res.exit_code == 0, res.output
        rows[mode] = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows["--constrained"]] == texts
    assert all(r["valid"] and r["segments"] for r in rows["--constrained"])
    assert not any(r["valid"] for r in rows["--free"])  # the same random model, unconstrained: no classification


@pytest.mark.parametrize("constrained", [True, False])
def test_eval_voc_constrains_generation_only_when_asked(load_stage, tmp_path, tiny_model_dir, monkeypatch, constrained):
    taxonomy = load_taxonomy(TAXONOMY)
    data = tmp_path / "data"
    data.mkdir()
    (data / "taxonomy.csv").write_text(TAXONOMY.read_text())
    seg = {"content": "late", **dict(zip(taxonomy.levels, taxonomy.leaves[0], strict=True)), "emotion": "negative"}
    record = {"id": "c1", "text": "late", "segments": [seg],
              "messages": build_messages("late", system_prompt(taxonomy), [seg], taxonomy.levels)}
    for split in ("train", "test"):
        (data / f"{split}.jsonl").write_text(json.dumps(record) + "\n")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["eval"] |= {"constrained": constrained, "limit": None}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stage, seen = load_stage("eval_voc"), []

    def fake_generate(backend, model_dir, prompts, *args, stop_at_array_end=False, constrain=None):
        seen.append(constrain)
        return [json.dumps([seg])] * len(prompts), [False] * len(prompts)

    monkeypatch.setattr(stage, "generate_outputs_with_hits", fake_generate)
    args = ["--params", tmp_path / "params.yaml", "--model", tiny_model_dir, "--name", "sft", "--data", data,
            "--out", tmp_path / "sft.json", "--details", tmp_path / "sft"]
    result = CliRunner().invoke(stage.main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert seen == [taxonomy if constrained else None]
