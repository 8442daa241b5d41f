"""The run summary: gain and retention per suite, the one metrics schema, and the read alias for old names."""

from __future__ import annotations

import json
from pathlib import Path

from voc.report.summary import SUITES, print_summary, ratio, read_summary, summarize


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


def test_the_task_suite_is_summarised_under_its_own_name(tmp_path):
    write(tmp_path / "tasks_base.json", {"mean": 0.4})
    write(tmp_path / "tasks_sft.json", {"mean": 0.3})
    s = summarize(tmp_path, 0.0, "lora")
    assert (s["tasks_base"], s["tasks_sft"], s["tasks_retention"]) == (0.4, 0.3, 0.75)
    assert not any(k.startswith("general") for k in s)


def test_summaries_from_before_the_rename_read_under_todays_keys():
    old = {"mix": 0.25, "general_base": 0.4, "general_retention": 0.9, "mmlu_retention": 0.8}
    assert read_summary(old) == {"mix": 0.25, "tasks_base": 0.4, "tasks_retention": 0.9, "mmlu_retention": 0.8}
    assert read_summary({"tasks_retention": 0.7, "general_retention": 0.9})["tasks_retention"] == 0.7


def test_every_retention_suite_has_an_axis_title():
    assert all(s.axis for s in SUITES if s.compare == "retention")
    assert len({s.key for s in SUITES}) == len(SUITES)
