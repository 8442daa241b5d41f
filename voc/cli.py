"""The `voc` command: data import/export, classification with a trained model, the forgetting frontier, the
decision table (compare), and a whole-file params check."""

from __future__ import annotations

import json
import sys

import click

from voc.importers.cli import export_cmd, import_cmd
from voc.report.frontier import compare_cmd, frontier_cmd


@click.group()
@click.version_option(package_name="voc")
def main() -> None:
    """voc: fine-tune a language model on a customer-feedback taxonomy without forgetting."""


@main.command("classify")
@click.argument("texts", nargs=-1)
@click.option("--model", "model_dir", default="models/sft", show_default=True, type=click.Path(exists=True))
@click.option("--taxonomy", "taxonomy_path", default="data/prepared/voc/taxonomy.csv", show_default=True,
              type=click.Path(exists=True))
@click.option("--prompt-taxonomy", type=click.Choice(["names", "full", "none"]), default="names", show_default=True,
              help="must match the prompt.taxonomy the model was trained with (none: instructions only)")
@click.option("--input", "input_path", type=click.Path(exists=True), help=".txt (one per line) or .jsonl (text)")
@click.option("--output", "output_path", type=click.Path(), help="write JSONL here instead of stdout")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--max-new-tokens", default=256, show_default=True)
@click.option("--constrained/--free", default=False, show_default=True,
              help="constrained: every reply is valid JSON whose labels are taxonomy leaf paths (as eval.constrained)")
@click.option("--trust-remote-code", is_flag=True, help="off by default: only for models you trust")
def classify_cmd(texts, model_dir, taxonomy_path, prompt_taxonomy, input_path, output_path, batch_size,
                 max_new_tokens, constrained, trust_remote_code) -> None:
    """Classify comments given as arguments or in --input; labels outside the taxonomy are flagged."""
    from voc.core.files import write_jsonl
    from voc.core.taxonomy import load_taxonomy
    from voc.data.prompt import build_messages, system_prompt
    from voc.eval.classify import classify_outputs, read_inputs
    from voc.model.generate import generate_chat
    from voc.model.loading import load_model

    items = list(texts) + (read_inputs(input_path) if input_path else [])
    if not items:
        raise click.UsageError("give comment texts as arguments or a file with --input")
    taxonomy = load_taxonomy(taxonomy_path)
    system = system_prompt(taxonomy, prompt_taxonomy)
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code)
    raws = generate_chat(model, tok, [build_messages(t, system) for t in items], max_new_tokens, batch_size,
                         desc="classify", stop_at_array_end=True, constrain=taxonomy if constrained else None)
    rows = classify_outputs(items, raws, taxonomy)
    if output_path:
        write_jsonl(output_path, rows)
        bad = sum(not r["valid"] for r in rows)
        click.echo(f"classified {len(rows)} comments -> {output_path} ({bad} with invalid output or labels)")
    else:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")


@main.command("check-params")
@click.argument("path", default="params.yaml", type=click.Path(exists=True, dir_okay=False))
def check_params_cmd(path: str) -> None:
    """Check the whole params file at once (each stage checks only the sections it reads)."""
    from voc.core.params import load_params

    load_params(path)
    click.echo(f"{path}: every section is valid")


main.add_command(import_cmd, "import")
main.add_command(export_cmd, "export")
main.add_command(frontier_cmd, "frontier")
main.add_command(compare_cmd, "compare")

if __name__ == "__main__":
    main()
