"""The bad-input matrix: every case names the file, the line and the fix; lenient mode accounts for every row.

MMLU-source cases (missing subject, answer out of range, empty choice) live beside their loader in
tests/test_mmlu.py; model-output fuzzing in tests/test_fuzz_outputs.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voc.errors import CommentError, ParamsError, TaxonomyError
from voc.general import validate_sources
from voc.mixing import validate_mix
from voc.records import load_comments
from voc.taxonomy import load_taxonomy

FIX = Path(__file__).parent / "fixtures" / "bad_input"


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(FIX / "taxonomy.csv")


@pytest.mark.parametrize(("fixture", "line", "words"), [
    ("tax_empty.csv", 1, "empty"),
    ("tax_missing_description.csv", 2, "no description"),
    ("tax_duplicate.csv", 4, "duplicate leaf path App/Login/Password reset (first on line 2)"),
    ("tax_ragged.csv", 3, "row has 3 columns, header has 4"),
    ("tax_bad_header.csv", 1, "do not match ['L1', 'L2', 'L3']"),
    ("tax_latin1.csv", 2, "not UTF-8"),
])
def test_taxonomy_errors_name_file_line_and_fix(fixture, line, words):
    with pytest.raises(TaxonomyError) as e:
        load_taxonomy(FIX / fixture)
    msg = str(e.value)
    assert msg.startswith(f"{FIX / fixture}:{line}: ")
    assert words in msg
    assert "Fix: " in msg and e.value.line == line


def test_taxonomy_accepts_bom_and_crlf():
    tax = load_taxonomy(FIX / "tax_bom_crlf.csv")
    assert tax.levels == ("L1", "L2", "L3")
    assert tax.leaves == (("App", "Login", "Password reset"), ("App", "Alerts", "Motion"))


CASES = [
    # fixture, reason, error words, lenient accepted count
    ("c_invalid_json.jsonl", "invalid_json", "invalid JSON", 1),
    ("c_missing_text.jsonl", "missing_text", "has no 'text'", 1),
    ("c_empty_text.jsonl", "empty_text", "empty text", 1),
    ("c_duplicate_id.jsonl", "duplicate_id", "duplicate id 'c1'", 1),
    ("c_unknown_label.jsonl", "unknown_label", "closest valid label: 'Motion'", 1),
    ("c_wrong_level.jsonl", "wrong_level", "'Motion' is a level-L3 label", 1),
    ("c_bad_emotion.jsonl", "bad_emotion", "emotion 'angry'", 1),
]


@pytest.mark.parametrize(("fixture", "reason", "words", "_accepted"), CASES)
def test_comment_errors_strict(taxonomy, fixture, reason, words, _accepted):
    with pytest.raises(CommentError) as e:
        load_comments(FIX / fixture, taxonomy, strict=True)
    assert str(e.value).startswith(f"{FIX / fixture}:2: ")
    assert words in str(e.value) and "Fix: " in str(e.value)


@pytest.mark.parametrize(("fixture", "reason", "words", "accepted"), CASES)
def test_comment_rejects_lenient(taxonomy, fixture, reason, words, accepted):
    res = load_comments(FIX / fixture, taxonomy, strict=False)
    counts = res.counts()
    assert counts["accepted"] + counts["rejected"] == counts["read"] == 2
    assert counts["accepted"] == accepted
    assert [r["reason"] for r in res.rejects] == [reason]
    assert res.rejects[0]["line"] == 2
    assert words in f"{res.rejects[0]['problem']}. Fix: {res.rejects[0]['fix']}"


def test_no_segments_is_an_error_in_strict_and_counted_in_lenient(taxonomy):
    with pytest.raises(CommentError, match="has no segments"):
        load_comments(FIX / "c_no_segments.jsonl", taxonomy, strict=True)
    res = load_comments(FIX / "c_no_segments.jsonl", taxonomy, strict=False)
    assert len(res.accepted) == 2 and res.accepted[1]["segments"] == []
    assert res.counts()["warnings"] == {"no_segments": 1}


def test_content_not_a_span_is_kept_with_a_counted_warning(taxonomy):
    res = load_comments(FIX / "c_not_span.jsonl", taxonomy, strict=True)
    assert len(res.accepted) == 2
    assert res.warnings["content_not_span"] == 1


def test_one_megabyte_comment_is_truncated_and_counted(taxonomy, tmp_path):
    text = "I could not reset my password. " + "blah " * 210_000 + "Alerts stopped at the very end."
    row = {"id": "big", "text": text, "segments": [
        {"content": "I could not reset my password.", "L1": "App", "L2": "Login", "L3": "Password reset",
         "emotion": "negative"},
        {"content": "Alerts stopped at the very end.", "L1": "App", "L2": "Alerts", "L3": "Motion",
         "emotion": "neutral"}]}
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert path.stat().st_size > 1_000_000
    res = load_comments(path, taxonomy, strict=True, max_chars=2000)
    assert len(res.accepted[0]["text"]) == 2000
    assert res.warnings["truncated"] == 1 and res.warnings["segments_cut_by_truncation"] == 1
    assert len(res.accepted[0]["segments"]) == 1


@pytest.mark.parametrize("mix", [1, -0.1, "0.25", True, None])
def test_bad_mix_values(mix):
    with pytest.raises(ParamsError, match=r"mix=.* is not a number in \[0, 1\)"):
        validate_mix(mix)


def test_unknown_general_kind():
    with pytest.raises(ParamsError, match="unknown kind 'ftp'.*Fix: use one of replay, json, hf"):
        validate_sources([{"name": "x", "kind": "ftp", "path": "a"}])


@pytest.mark.parametrize(("change", "words"), [
    (lambda p: p["model"].update(source=None), "model.source"),
    (lambda p: p["model"].update(source="ftp://x"), "model.source"),
    (lambda p: p.update(mix=1), "mix=1"),
    (lambda p: p["general"]["sources"][0].update(kind="s3"), "unknown kind 's3'"),
    (lambda p: p["sft"].update(method="qlora"), "sft.method"),
    (lambda p: p["decontam"].update(action="warn"), "decontam.action"),
])
def test_whole_params_file_is_checked_before_any_stage_runs(tmp_path, change, words):
    import yaml

    from voc.params import load_params

    params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())
    change(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="Fix: ") as e:
        load_params(path)
    assert words in str(e.value)
