"""IFEval: reading and validating its rows, scoring with if-verifiable's checkers, and the four metrics."""

from __future__ import annotations

import json
import pickle

import nltk
import pytest
from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

from voc.core.errors import InputError
from voc.core.stats import proportion_ci
from voc.eval.ifeval import CAPITALS, METRICS, SENTENCES, build_checker, ifeval_report, load_ifeval, score_response

LOWER = "change_case:english_lowercase"
NO_COMMA = "punctuation:no_comma"


def _row(key: int = 1, ids: tuple = (NO_COMMA,), kwargs: tuple = ({},), prompt: str = "Write.") -> dict:
    return {"key": key, "prompt": prompt, "instruction_id_list": list(ids), "kwargs": list(kwargs)}


def _write(tmp_path, rows: list) -> str:
    path = tmp_path / "ifeval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_a_local_file_loads_with_null_kwargs_dropped_and_limit_applied(tmp_path):
    rows = [_row(1, (SENTENCES,), ({"num_sentences": 2, "relation": "less than", "keyword": None},)),
            _row(2), _row(3)]
    got = load_ifeval(_write(tmp_path, rows), limit=2)
    assert [r["key"] for r in got] == [1, 2]
    assert got[0]["kwargs"] == [{"num_sentences": 2, "relation": "less than"}]


@pytest.mark.parametrize(("row", "words"), [
    ([1], "not a JSON object"),
    (_row(key="a"), "'key' must be an integer"),
    (_row(prompt=" "), "'prompt' is missing or empty"),
    (_row(ids=(NO_COMMA, LOWER)), "same, non-zero length"),
    (_row(ids=("made:up",)), "'made:up' is not an IFEval instruction"),
    (_row(ids=(SENTENCES,), kwargs=({"num_sentences": 3},)), "it takes ['num_sentences', 'relation']"),
    (_row(ids=(SENTENCES,), kwargs=({"num_sentences": 3, "relation": "about"},)), "is invalid"),
])
def test_a_bad_row_names_the_file_the_line_and_the_fix(tmp_path, row, words):
    path = _write(tmp_path, [_row(7), row])
    with pytest.raises(InputError) as e:
        load_ifeval(path)
    assert words in str(e.value) and e.value.line == 2 and path in str(e.value) and "Fix:" in str(e.value)


def test_a_duplicate_key_names_its_first_line(tmp_path):
    with pytest.raises(InputError, match="duplicate key 5 \\(first on line 1\\)"):
        load_ifeval(_write(tmp_path, [_row(5), _row(5)]))


def test_the_hub_source_loads_the_train_split_at_the_pinned_commit(monkeypatch):
    import datasets

    calls = []
    hub_row = _row(9, (LOWER,), ({"num_sentences": None, "relation": None},))  # the hub fills unused args with null

    def fake_load_dataset(repo, split, revision):
        calls.append((repo, split, revision))
        return [hub_row]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rev = "a" * 40
    assert load_ifeval("hf:google/IFEval", rev)[0]["kwargs"] == [{}]
    assert calls == [("google/IFEval", "train", rev)]
    monkeypatch.setattr(datasets, "load_dataset", lambda repo, split, revision: [_row(9, ("made:up",))])
    with pytest.raises(InputError, match=r"hf:google/IFEval\[train\]:1: "):
        load_ifeval("hf:google/IFEval", rev)


def test_loose_forgives_a_chatty_first_line_and_strict_does_not():
    [res] = score_response(_row(ids=(LOWER,)), "Sure!\nall lower case here")
    assert (res["strict"], res["loose"]) == (False, True)


def test_an_empty_reply_fails_every_instruction_and_still_counts():
    report, details = ifeval_report([_row(ids=(NO_COMMA, LOWER), kwargs=({}, {}))], ["  "], [True])
    assert details[0]["instructions"] == [{"id": NO_COMMA, "strict": False, "loose": False},
                                          {"id": LOWER, "strict": False, "loose": False}]
    assert report["n_instructions"] == 2 and report["inst_level_loose_acc"] == 0.0 and report["hit_limit"] == 1


def test_the_four_metrics_and_the_per_prompt_outcomes():
    rows = [_row(1, (NO_COMMA, LOWER), ({}, {})), _row(2, (NO_COMMA,))]
    answers = ["Sure!\nall lower case here", "a, b"]  # prompt 1: comma ok, lowercase loose only; prompt 2: comma
    report, details = ifeval_report(rows, answers, [False, False])
    assert [report[m] for m in METRICS] == [0.0, 0.5, 1 / 3, 2 / 3]
    assert report["prompt_level_loose_acc_ci95"] == dict(zip(("lo", "hi"), proportion_ci(1, 2)["ci95"], strict=True))
    assert report["inst_level_strict_acc_stderr"] == proportion_ci(1, 3)["stderr"]
    ci = report["inst_level_loose_acc_ci95"]  # resampled prompts, each with all its instructions
    assert 0 <= ci["lo"] <= 2 / 3 <= ci["hi"] <= 1
    assert report["pass_rate"] == 0.0 and report["pass_rate_ci95"] == report["prompt_level_strict_acc_ci95"]
    assert report["benchmark"] == "ifeval"
    assert [(d["key"], d["pass"], d["pass_loose"]) for d in details] == [(1, False, True), (2, False, False)]
    assert details[0]["instructions"][1] == {"id": LOWER, "strict": False, "loose": True}


def test_no_pickle_is_loaded_and_the_substituted_checks_are_counted(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pickle or nltk data was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(nltk.data, "load", refuse)
    sentences = {"num_sentences": 3, "relation": "less than"}
    with pytest.raises(AssertionError, match="pickle"):  # the packaged checker would have loaded punkt
        checker = INSTRUCTION_DICT[SENTENCES](SENTENCES)
        checker.build_description(**sentences)
        checker.check_following("One. Two.")
    assert build_checker(SENTENCES, sentences, "").check_following("Dr. Smith came. He left.")
    assert not build_checker(SENTENCES, sentences, "").check_following("One. Two. Three.")
    capitals = {"capital_frequency": 2, "capital_relation": "at least"}
    assert build_checker(CAPITALS, capitals, "").check_following("This is VERY IMPORTANT. Yes.")
    assert not build_checker(CAPITALS, capitals, "").check_following("Only ONE here.")
    rows = [_row(1, (SENTENCES, CAPITALS), (sentences, capitals)), _row(2)]
    report, _ = ifeval_report(rows, ["A. B.", "x"], [False, False])
    assert report["substitute_splitter"]["instructions"] == 2


def test_an_undetectable_language_passes_as_in_ifeval_but_is_counted():
    row = _row(ids=("language:response_language",), kwargs=({"language": "en"},))
    report, details = ifeval_report([row, row], ["12345 67890", "This is an English sentence."], [False, False])
    assert [d["pass"] for d in details] == [True, True] and report["language_undetected"] == 1
