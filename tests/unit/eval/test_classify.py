"""`voc classify`: labels outside the taxonomy flagged, inputs read with line-numbered errors, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.errors import InputError
from voc.core.taxonomy import load_taxonomy
from voc.eval.classify import classify_outputs, mark_segments, read_inputs

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bad_input"


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


def test_check_params_command_reads_the_whole_file(tmp_path):
    from voc.cli import main

    root = Path(__file__).resolve().parents[3]
    assert CliRunner().invoke(main, ["check-params", str(root / "params.yaml")]).exit_code == 0
    bad = tmp_path / "params.yaml"
    bad.write_text((root / "params.yaml").read_text().replace("lr: 2.0e-4", "lerning_rate: 2.0e-4"))
    res = CliRunner().invoke(main, ["check-params", str(bad)])
    assert res.exit_code != 0 and "unknown key sft.lerning_rate" in str(res.exception)
