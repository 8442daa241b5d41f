"""Constraint checks (a pass and a fail for every type), the report's arithmetic, and the prompt file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voc.core.errors import InputError
from voc.eval.probe import CONSTRAINT_PARAMS, check_constraint, detect_language, load_prompts, probe_report

PROMPTS = Path(__file__).resolve().parents[3] / "data" / "raw" / "general_prompts.jsonl"

# (constraint, passing response, failing response)
CASES = [
    ({"type": "bullets", "n": 3}, "Benefits:\n- hydration\n- energy\n* focus", "- hydration\n- energy"),
    ({"type": "bullets", "n": 2}, "- one\n- two", "1. one\n2. two"),
    ({"type": "numbered_list", "n": 3}, "Steps:\n1. boil\n2) steep\n3. pour", "1. boil\n3. steep\n4. pour"),
    ({"type": "numbered_list", "n": 2}, "1. int\n2. str", "1. int\n2. str\n3. list"),
    ({"type": "max_words", "n": 5}, "The Moon orbits Earth.", "The Moon is a natural satellite of Earth."),
    ({"type": "json_keys", "keys": ["name", "age"]}, '{"age": 30, "name": "Ana"}', '{"name": "Ana"}'),
    ({"type": "json_keys", "keys": ["a"]}, '```json\n{"a": 1}\n```', 'Sure! {"a": 1}'),
    ({"type": "json_keys", "keys": ["a"]}, '{"a": [1]}', '["a"]'),
    ({"type": "language", "lang": "fr"}, "Je préfère le printemps parce que les fleurs sont belles.",
     "I like spring because the flowers are pretty."),
    ({"type": "language", "lang": "de"}, "Die Katze ist klein und sie schläft auf dem Sofa.",
     "El gato es pequeño y duerme en el sofá."),
    ({"type": "language", "lang": "es"}, "La gente come pan con café y un poco de fruta.",
     "Les gens mangent du pain avec du café."),
    ({"type": "language", "lang": "en"}, "A rainbow is an arc of colours in the sky.", "Un arc-en-ciel est beau."),
    ({"type": "language", "lang": "ja"}, "猫はとてもかわいいです。", "The cat is cute."),
    ({"type": "lowercase"}, "the capital of italy is rome.", "The capital of Italy is Rome."),
    ({"type": "lowercase"}, "rome", "123 ..."),
    ({"type": "starts_with", "text": "Yes"}, "  Yes, exercise helps.", "Well, yes it helps."),
    ({"type": "contains", "text": "lava"}, "Hot LAVA flows out of a volcano.", "Magma rises from below."),
    ({"type": "one_word"}, " Blue. ", "Light blue"),
    ({"type": "one_word"}, "9", "..."),
    ({"type": "no_commas"}, "Tall trees stand in the quiet forest.", "Tall, old trees stand here."),
    ({"type": "no_commas"}, "雨が降る。", "雨が降り、風が吹く。"),
]


@pytest.mark.parametrize(("constraint", "good", "bad"), CASES)
def test_check_constraint_pass_and_fail(constraint: dict, good: str, bad: str) -> None:
    assert check_constraint(good, constraint) is True
    assert check_constraint(bad, constraint) is False


def test_every_constraint_type_has_cases() -> None:
    assert {c["type"] for c, _, _ in CASES} == set(CONSTRAINT_PARAMS)


@pytest.mark.parametrize("constraint", [c for c, _, _ in CASES])
def test_empty_response_never_passes(constraint: dict) -> None:
    assert check_constraint("   \n", constraint) is False


@pytest.mark.parametrize(("constraint", "match"), [
    ({"type": "rhyme"}, "rhyme"),
    ({"type": "bullets"}, "'n'"),
    ({"type": "bullets", "n": "3"}, "'n'"),
    ({"type": "language", "lang": "it"}, "'it'"),
    ({"type": "json_keys", "keys": [1]}, "list of strings"),
    ({"n": 3}, "type"),
])
def test_bad_constraint_raises(constraint: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_constraint("anything", constraint)


def test_detect_language_is_unsure_on_tiny_answers() -> None:
    assert detect_language("Paris") is None
    assert detect_language("") is None


def test_probe_report_arithmetic() -> None:
    prompts = [{"constraint": {"type": "one_word"}}, {"constraint": {"type": "one_word"}},
               {"constraint": {"type": "lowercase"}}, {"constraint": {"type": "no_commas"}}]
    responses = ["Blue", "two words", "all lower", "a, b"]
    report = probe_report(responses, prompts)
    assert report["n"] == 4
    assert report["pass_rate"] == pytest.approx(2 / 4)
    # 2 of 4: stderr sqrt(.5 * .5 / 3) = 0.2887; Wilson(2, 4) = [0.1500, 0.8500]
    assert report["pass_rate_stderr"] == pytest.approx(0.2887, abs=1e-4)
    assert report["pass_rate_ci95"] == {"lo": pytest.approx(0.15, abs=1e-4), "hi": pytest.approx(0.85, abs=1e-4)}
    assert report["by_type"] == {"lowercase": {"pass_rate": 1.0, "n": 1},
                                 "no_commas": {"pass_rate": 0.0, "n": 1},
                                 "one_word": {"pass_rate": 0.5, "n": 2}}


def test_probe_report_edge_cases() -> None:
    assert probe_report([], []) == {"pass_rate": 0.0, "pass_rate_stderr": 0.0, "pass_rate_ci95": {"lo": 0.0, "hi": 1.0},
                                    "n": 0, "by_type": {}}
    with pytest.raises(ValueError, match="2 responses for 1 prompts"):
        probe_report(["a", "b"], [{"constraint": {"type": "one_word"}}])


def test_committed_prompts_file() -> None:
    rows = load_prompts(PROMPTS)
    probe = load_prompts(PROMPTS, "probe")
    replay = load_prompts(PROMPTS, "replay")
    assert 190 <= len(rows) <= 210 and len(probe) == 40 and len(replay) == len(rows) - 40
    assert len({r["prompt"] for r in rows}) == len(rows)
    types = {p["constraint"]["type"] for p in probe}
    assert types <= set(CONSTRAINT_PARAMS) and len(types) >= 8
    assert len({r["category"] for r in rows}) >= 6


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {"id": "gp-1", "category": "writing", "prompt": "Hi", "split": "replay"}


@pytest.mark.parametrize(("bad_line", "problem"), [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({**GOOD, "id": "gp-2", "prompt": ""}), "'prompt'"),
    (json.dumps({**GOOD, "id": "gp-2", "split": "train"}), "split 'train'"),
    (json.dumps(GOOD), "duplicate id 'gp-1' (first on line 1)"),
    (json.dumps({**GOOD, "id": "gp-2", "split": "probe"}), "bad probe constraint"),
    (json.dumps({**GOOD, "id": "gp-2", "split": "probe", "constraint": {"type": "haiku"}}), "'haiku'"),
])
def test_load_prompts_names_file_and_line(tmp_path: Path, bad_line: str, problem: str) -> None:
    path = _write(tmp_path, [json.dumps(GOOD), "", bad_line])
    with pytest.raises(InputError) as info:
        load_prompts(path)
    assert info.value.line == 3 and info.value.path == str(path)
    assert problem in info.value.problem and info.value.fix


def test_load_prompts_filters_split(tmp_path: Path) -> None:
    probe = {**GOOD, "id": "gp-2", "split": "probe", "constraint": {"type": "bullets", "n": 2}}
    path = _write(tmp_path, [json.dumps(GOOD), json.dumps(probe)])
    assert [r["id"] for r in load_prompts(path, "probe")] == ["gp-2"]
    assert [r["id"] for r in load_prompts(path, "replay")] == ["gp-1"]
    with pytest.raises(ValueError, match="split"):
        load_prompts(path, "test")
