from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.errors import InputError
from voc.core.taxonomy import load_taxonomy
from voc.eval.classify import classify_outputs, mark_segments, read_inputs
from voc.report.summary import print_summary, ratio, summarize

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bad_input"


def write(p: Path, obj) -> None:
    p.write_text(json.dumps(obj))


def test_summary_fields_gain_and_retention(tmp_path):
    write(tmp_path / "voc_base.json", {"f1": 0.2, "nova_f1": 0.1, "json_valid_rate": 0.5})
    write(tmp_path / "voc_sft.json", {"f1": 0.5, "nova_f1": 0.4, "json_valid_rate": 1.0})
    write(tmp_path / "mmlu_base.json", {"accuracy": 0.4})
    write(tmp_path / "mmlu_sft.json", {"accuracy": 0.3})
    s = summarize(tmp_path, 0.25, "full")
    assert s["f1_base"] == 0.2 and s["f1_sft"] == 0.5 and s["f1_gain"] == 0.3
    assert s["mmlu_retention"] == 0.75  # 0.3 / 0.4
    assert s["mix"] == 0.25 and "general_base" not in s
    print_summary(s)


def test_retention_is_undefined_for_a_zero_base():
    assert ratio(0.3, 0.0) is None and ratio(None, 0.5) is None and ratio(0.25, 0.5) == 0.5


def test_classify_marks_labels_outside_the_taxonomy():
    tax = load_taxonomy(FIX / "taxonomy.csv")
    good = {"content": "late", "L1": "Delivery", "L2": "Shipping", "L3": "Late", "emotion": "negative"}
    bad = {**good, "L3": "Lost"}
    assert [s["in_taxonomy"] for s in mark_segments([good, bad], tax)] == [True, False]
    rows = classify_outputs(["late"], [json.dumps([bad])], tax)
    assert rows[0]["valid"] is False and rows[0]["segments"][0]["in_taxonomy"] is False
    rows = classify_outputs(["late"], ["no json here"], tax)
    assert rows[0]["valid"] is False and rows[0]["segments"] == []


def test_read_inputs_txt_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n")
    assert read_inputs(tmp_path / "a.txt") == ["one", "two"]
    (tmp_path / "b.jsonl").write_text('{"text": "x"}\n{"id": 1}\n')
    with pytest.raises(InputError, match=r"b.jsonl:2: .*'text'"):
        read_inputs(tmp_path / "b.jsonl")


def test_read_inputs_names_a_bad_byte_and_accepts_a_bom(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfone\ntwo\n")
    assert read_inputs(tmp_path / "bom.txt") == ["one", "two"]
    (tmp_path / "bad.txt").write_bytes(b"one\ntw\xe9\n")
    with pytest.raises(InputError, match=r"bad.txt:2: .*UTF-8"):
        read_inputs(tmp_path / "bad.txt")
    (tmp_path / "bad.jsonl").write_bytes(b'{"text": "x"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: .*UTF-8"):
        read_inputs(tmp_path / "bad.jsonl")


def test_a_parser_bug_is_never_a_valid_classification(monkeypatch):
    """A crash inside the parser is `parser_error`: nothing usable, so `valid` is False (it used to be True)."""
    import voc.eval.parsing

    def broken(*_args, **_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(voc.eval.parsing, "_parse", broken)
    rows = classify_outputs(["late"], ["[]"], load_taxonomy(FIX / "taxonomy.csv"))
    assert rows[0]["status"] == "parser_error" and rows[0]["valid"] is False


def test_classify_command_end_to_end(tiny_model_dir, tmp_path):
    from voc.cli import main

    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(main, ["classify", "--model", str(tiny_model_dir), "--taxonomy",
                                    str(FIX / "taxonomy.csv"), "--max-new-tokens", "4", "--output", str(out),
                                    "The parcel came late."])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["text"] == "The parcel came late." and "raw" in rows[0]
