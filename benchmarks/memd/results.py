"""Collect one benchmark run's metrics from the scratch project, and render the study-shaped markdown table."""

from __future__ import annotations

from pathlib import Path

from benchmarks.memd.scratch import run_alpha
from benchmarks.micro.util import machine
from voc.core.files import read_json
from voc.report.frontier_data import freeze_label
from voc.report.summary import read_summary
from voc.report.summary_table import with_ci

COLUMNS = ("run", "replay source", "leaf F1", "Nova F1", "MMLU", "tasks mean", "probe pass", "JSON-valid",
           "wall time", "hardware")
# summary.json key stem -> column
METRICS = {"f1": "leaf F1", "nova_f1": "Nova F1", "mmlu": "MMLU", "tasks": "tasks mean", "probe": "probe pass",
           "json_valid": "JSON-valid"}
# mix.json keys of before the replay rename, in results.json files still read (summaries: read_summary's alias).
OLD_MIX_KEYS = {"general_record_share": "replay_record_share", "general_token_share": "replay_token_share"}


def hardware() -> str:
    """GPU name from torch when CUDA is used, else the CPU model and its logical core count."""
    return machine()


def mix_stats(run: dict) -> dict:
    """A run's mix.json, its keys of before the replay rename under their current names."""
    return {OLD_MIX_KEYS.get(k, k): v for k, v in (run.get("mix_stats") or {}).items()}


def _maybe(path: Path) -> dict | None:
    return read_json(path) if path.exists() else None


def collect_run(project: Path, run: dict, wall_s: float, stages: list[str]) -> dict:
    """Everything the table and a later reader need from one run's workspace metrics."""
    m = project / "metrics"
    voc_sft = _maybe(m / "voc_sft.json") or {}
    return {
        "name": run["name"], "mix": run["mix"], "method": run["method"], "source": run["source"],
        "alpha": run_alpha(run), "freeze": run.get("freeze"),
        "wall_s": round(wall_s, 1), "stages_run": stages,
        "summary": read_json(m / "summary.json"),
        "voc_sft": {k: voc_sft.get(k) for k in ("n", "f1", "nova_f1", "json_valid_rate")},
        "voc_base": {k: (_maybe(m / "voc_base.json") or {}).get(k) for k in ("n", "f1", "nova_f1", "json_valid_rate")},
        "mix_stats": _maybe(m / "mix.json"),
        "decontam": _maybe(m / "decontam.json"),
        "data": _maybe(m / "data.json"),
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes}m{sec:02d}s"


def base_numbers(runs: list[dict]) -> dict[str, float | None]:
    """The base model's metrics, from the first run's summary (every run of a session evaluates the same base)."""
    return {f"{k}_base": read_summary(runs[0]["summary"]).get(f"{k}_base") for k in METRICS}


def controls(run: dict) -> str:
    """The forgetting controls a run set beyond mix and method (`, alpha=0.5, freeze embeddings+layers=10`)."""
    alpha = run_alpha(run)
    frozen = freeze_label(run.get("freeze"))
    return (f", alpha={alpha:g}" if alpha != 1.0 else "") + (f", freeze {frozen}" if frozen != "none" else "")


def table_rows(runs: list[dict], hw: str) -> list[list[str]]:
    """The base model (from the first run's summary), then each run's fine-tuned model."""
    rows = []
    if runs:
        rows.append(["base model", "-", *(_fmt(v) for v in base_numbers(runs).values()), "-", hw])
    for r in runs:
        s = read_summary(r["summary"])
        label = f"{r['name']} ({r['method']}, mix={r['mix']:g}{controls(r)})"
        source = r["source"] if r["mix"] > 0 else "- (customer only)"
        rows.append([label, source, *(_fmt(s.get(f"{k}_sft")) for k in METRICS), _duration(r["wall_s"]), hw])
    return rows


def markdown_table(runs: list[dict], hw: str) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(runs, hw)]
    return "\n".join(lines) + "\n"


INTERVAL_COLUMNS = ("run", "leaf F1 [95 % CI]", "Δ leaf F1 vs base (p)", "vs best baseline (p)",
                    "instruction pass [95 % CI]", "Δ instruction pass (p)", "general retention [95 % CI] (p)")


def _delta(block: dict | None) -> str:
    """A paired difference as 'Δ [lo, hi] (p)', marked n.s. when the interval holds 0."""
    if not block or block.get("delta") is None:
        return "-"
    ci, p = block.get("ci95"), block.get("p_value")
    mark = "" if block.get("significant") else " n.s."
    return f"{block['delta']:+.3f}" + (f" [{ci['lo']:+.3f}, {ci['hi']:+.3f}]" if ci else "") + \
        (f" (p {p:.3f}{mark})" if p is not None else "")


def interval_rows(runs: list[dict]) -> list[list[str]]:
    """Base, then each run: the decision numbers with their 95 % intervals and paired tests (issue 13)."""
    if not runs:
        return []
    first = runs[0]["summary"]
    rows = [["base model", with_ci(first["f1"]["base"], first["f1"].get("base_ci95"), 3), "-", "-",
             with_ci(first["probe"]["base"], first["probe"].get("base_ci95"), 3), "-", "-"]]
    for r in runs:
        s, gr = r["summary"], r["summary"].get("general_retention") or {}
        best = {"delta": s.get("gain_over_best_baseline"), "ci95": s.get("gain_over_best_baseline_ci95"),
                "p_value": s.get("gain_over_best_baseline_p_value"),
                "significant": s.get("gain_over_best_baseline_significant")}
        retention = with_ci(gr.get("value"), gr.get("ci95"), 3) + (f" (p {gr['p_value']:.3f})" if gr.get("p_value")
                                                             is not None else "")
        rows.append([f"{r['name']} ({r['method']}, mix={r['mix']:g}{controls(r)})",
                     with_ci(s["f1"]["sft"], s["f1"].get("sft_ci95"), 3), _delta(s["f1"]),
                     f"{s.get('best_baseline') or '-'} {_delta(best)}",
                     with_ci(s["probe"]["sft"], s["probe"].get("sft_ci95"), 3), _delta(s["probe"]), retention])
    return rows


def interval_table(runs: list[dict]) -> str:
    """The decision table: every number with its interval; empty for results from before the intervals."""
    if not runs or not isinstance(runs[0]["summary"].get("f1"), dict):
        return ""
    lines = ["| " + " | ".join(INTERVAL_COLUMNS) + " |", "|" + "---|" * len(INTERVAL_COLUMNS)]
    return "\n" + "\n".join(lines + ["| " + " | ".join(row) + " |" for row in interval_rows(runs)]) + "\n"


def markdown_report(results: dict) -> str:
    """The table plus what produced it: profile, subsample, commands."""
    s = results["sample"]
    head = [f"# MEMD-ABSA {'+'.join(results['domains'])}: profile `{results['profile']}`", "",
            f"- train comments used: {s['used']['train']} of {s['available']['train']} (MEMD Train+Dev); "
            f"test: {s['used']['test']} of {s['available']['test']} (MEMD Test); "
            f"subsample seed: {s['seed'] if s['seed'] is not None else 'none (full sets)'}",
            f"- hardware: {results['hardware']}; total wall time: {_duration(results['wall_s'])}",
            wall_note(results), *session_notes(results), "", ""]
    table = markdown_table(results["runs"], results["hardware"])
    failed = "".join(f"\n- FAILED {f['name']}: {f['error']} (log: {f['log']})" for f in results.get("failed", []))
    return "\n".join(head) + table + interval_table(results["runs"]) + "".join(share_notes(results["runs"])) + failed


def wall_note(results: dict) -> str:
    """What a run's wall time covers, which depends on the executor."""
    if results.get("executor") != "direct":
        return "- wall time of a run = its `dvc exp run`; the first run also pays for the shared base-model stages"
    if "shared_stages_s" in results:  # written by the executor of before dvc.lock's commands (one GPU session)
        return (f"- executor: the dvc.yaml stage commands without DVC (none on that machine), {results['jobs']} runs "
                f"at a time on one device; a run's wall time = its own stages while sharing it; the shared stages "
                f"(assets reused, prepare, general) took {_duration(results['shared_stages_s'])} before the runs")
    return (f"- executor: dvc.lock's commands without DVC (none on that machine), {results['jobs']} stages at a time "
            f"on one device; the first run runs every stage, later ones only those their params change; a run's "
            f"wall time spans the stages it ran while sharing the device")


def session_notes(results: dict) -> list[str]:
    """Which commit ran which runs, where the set merges sessions (`run.py --merge-with`)."""
    sessions = results.get("sessions") or []
    if not sessions:
        return []
    lines = [f"- session {i}: commit `{x['project_commit'][:7]}` ran {', '.join(x['runs'])} in {_duration(x['wall_s'])}"
             for i, x in enumerate(sessions, 1)]
    return [*lines, "- sessions merged: same subsample, and the base model's numbers were equal in each"]


def share_notes(runs: list[dict]) -> list[str]:
    """Flag runs whose training set did not get the asked-for replay share (e.g. replay answers all empty)."""
    notes = []
    for r in runs:
        got = mix_stats(r).get("replay_record_share")
        if got is not None and abs(got - r["mix"]) > 0.05:
            notes.append(f"\n- WARNING {r['name']}: asked mix={r['mix']:g} but the training set's replay record "
                         f"share is {got:g} (see mix_stats in results.json)")
    return notes


def merge_sessions(old: dict, new: dict, order: list[str]) -> dict:
    """One result set from two sessions of the same benchmark (a 2-core box cannot run a series in one sitting).

    They must share profile, domains and subsample, and once both have runs, the base model's numbers: the base
    is evaluated afresh in every session, so equal numbers show the setup did not drift. A run of `new` replaces
    the one of the same name in `old`; `sessions` says which commit produced which runs."""
    for key in ("profile", "domains", "sample"):
        if old[key] != new[key]:
            raise ValueError(f"cannot merge: '{key}' differs ({old[key]!r} vs {new[key]!r})")
    if old["runs"] and new["runs"]:
        b_old, b_new = base_numbers(old["runs"]), base_numbers(new["runs"])
        if b_old != b_new:
            raise ValueError(f"cannot merge: the base model's numbers differ ({b_old} vs {b_new})")
    runs = {r["name"]: r for r in old["runs"] + new["runs"]}
    sessions = old.get("sessions") or [_session(old)]
    merged = {**new, "runs": [runs[n] for n in order if n in runs], "sessions": [*sessions, _session(new)]}
    merged["wall_s"] = round(sum(s["wall_s"] or 0 for s in merged["sessions"]), 1)
    return merged


def _session(results: dict) -> dict:
    return {"project_commit": results["project_commit"], "runs": [r["name"] for r in results["runs"]],
            "wall_s": results["wall_s"]}
