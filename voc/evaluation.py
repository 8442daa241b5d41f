"""VOC evaluation: generate classifications for the test split, parse them robustly, keep every raw output.

Scoring itself lives in `voc.scoring`; this module only turns a model + test records into prediction rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from voc.errors import VocError
from voc.parsing import normalize_labels, parse_output
from voc.taxonomy import Taxonomy
from voc.training_data import answer_token_lengths, percentile

log = logging.getLogger("voc.evaluation")


def generate_outputs(backend: str, model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                     batch_size: int, trust_remote_code: bool = False, allow_pickle: bool = False) -> list[str]:
    """Greedy generation with the chosen backend: `hf` (transformers, CPU or one GPU) or `vllm` (optional)."""
    return generate_outputs_with_hits(backend, model_dir, conversations, max_new_tokens, batch_size,
                                      trust_remote_code, allow_pickle)[0]


def generate_outputs_with_hits(backend: str, model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                               batch_size: int, trust_remote_code: bool = False,
                               allow_pickle: bool = False) -> tuple[list[str], list[bool]]:
    """`generate_outputs`, plus for each output whether it hit `max_new_tokens` (cut before it finished)."""
    if backend == "vllm":
        return generate_vllm(model_dir, conversations, max_new_tokens, trust_remote_code)
    if backend != "hf":
        raise VocError(f"eval.backend={backend!r}. Fix: use hf or vllm in params.yaml")
    from accelerate import PartialState
    from accelerate.utils import gather_object

    from voc.modeling import generate_chat_with_hits, load_model, pick_device

    # one process unless launched with `accelerate launch --num_processes N` (one GPU per rank, or CPU ranks)
    state = PartialState(cpu=pick_device()[0] == "cpu")
    device = str(state.device) if state.num_processes > 1 else None
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, device=device)
    if state.num_processes == 1:
        return generate_chat_with_hits(model, tok, conversations, max_new_tokens, batch_size,
                                       desc=f"eval {model_dir}")
    # Data-parallel: each rank answers a contiguous shard; gather_object concatenates them in rank order.
    with state.split_between_processes(list(conversations)) as shard:
        outs, hits = generate_chat_with_hits(model, tok, shard, max_new_tokens, batch_size,
                                             desc=f"eval rank {state.process_index}")
    pairs = gather_object(list(zip(outs, hits, strict=True)))
    return [o for o, _ in pairs], [h for _, h in pairs]


def generate_vllm(model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                  trust_remote_code: bool) -> tuple[list[str], list[bool]]:
    """vLLM is optional (GPU only, not installable everywhere): imported lazily with a clear error.
    Returns the texts and whether each stopped at `max_new_tokens` (finish_reason "length")."""
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        raise VocError("eval.backend=vllm but vllm is not installed. Fix: `pip install vllm` on a CUDA machine, "
                       "or set eval.backend: hf") from None
    llm = LLM(model=model_dir, trust_remote_code=trust_remote_code)
    outs = llm.chat(conversations, SamplingParams(temperature=0.0, max_tokens=max_new_tokens))
    return [o.outputs[0].text.strip() for o in outs], [o.outputs[0].finish_reason == "length" for o in outs]


def answer_budget(records: Sequence[dict], tokenizer, max_new_tokens: int) -> dict:
    """p99 token length of the gold answers (end-of-turn included, as generation must emit it to stop); warns
    when `eval.max_new_tokens` is below it, since outputs cut there lose segments and score low."""
    p99 = percentile(answer_token_lengths(records, tokenizer), 0.99)
    if max_new_tokens < p99:
        log.warning("eval.max_new_tokens is %d, below the p99 length of the %d gold answers (%d tokens): longer "
                    "outputs will be cut. Fix: set eval.max_new_tokens: %d in params.yaml", max_new_tokens,
                    len(records), p99, p99)
    return {"gold_answer_tokens_p99": p99}


def prediction_rows(records: Sequence[dict], outputs: Sequence[str], taxonomy: Taxonomy,
                    hits: Sequence[bool] | None = None) -> list[dict]:
    """One row per test comment: gold, parsed prediction, raw output and parse status (never raises);
    with `hits`, whether the output hit eval.max_new_tokens."""
    rows = []
    for i, (rec, raw) in enumerate(zip(records, outputs, strict=True)):
        parsed = parse_output(raw, taxonomy.levels)
        segments, fixed_case = normalize_labels(parsed.segments, taxonomy)
        rows.append({"id": rec["id"], "text": rec["text"], "gold": rec["segments"], "pred": segments, "raw": raw,
                     "status": parsed.status, "json_valid": parsed.json_valid,
                     "schema_complete": parsed.schema_complete, "labels_case_fixed": fixed_case})
        if hits is not None:
            rows[-1]["hit_max_new_tokens"] = bool(hits[i])
    return rows
