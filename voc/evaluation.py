"""VOC evaluation: generate classifications for the test split, parse them robustly, keep every raw output.

Scoring itself lives in `voc.scoring`; this module only turns a model + test records into prediction rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from voc.errors import VocError
from voc.parsing import normalize_labels, parse_output
from voc.taxonomy import Taxonomy


def generate_outputs(backend: str, model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                     batch_size: int, trust_remote_code: bool = False, allow_pickle: bool = False) -> list[str]:
    """Greedy generation with the chosen backend: `hf` (transformers, CPU or one GPU) or `vllm` (optional)."""
    if backend == "vllm":
        return generate_vllm(model_dir, conversations, max_new_tokens, trust_remote_code)
    if backend != "hf":
        raise VocError(f"eval.backend={backend!r}. Fix: use hf or vllm in params.yaml")
    from accelerate import PartialState
    from accelerate.utils import gather_object

    from voc.modeling import generate_chat, load_model, pick_device

    # one process unless launched with `accelerate launch --num_processes N` (one GPU per rank, or CPU ranks)
    state = PartialState(cpu=pick_device()[0] == "cpu")
    device = str(state.device) if state.num_processes > 1 else None
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle, device=device)
    if state.num_processes == 1:
        return generate_chat(model, tok, conversations, max_new_tokens, batch_size, desc=f"eval {model_dir}")
    # Data-parallel: each rank answers a contiguous shard; gather_object concatenates them in rank order.
    with state.split_between_processes(list(conversations)) as shard:
        outs = generate_chat(model, tok, shard, max_new_tokens, batch_size, desc=f"eval rank {state.process_index}")
    return gather_object(outs)


def generate_vllm(model_dir: str, conversations: list[list[dict]], max_new_tokens: int,
                  trust_remote_code: bool) -> list[str]:
    """vLLM is optional (GPU only, not installable everywhere): imported lazily with a clear error."""
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        raise VocError("eval.backend=vllm but vllm is not installed. Fix: `pip install vllm` on a CUDA machine, "
                       "or set eval.backend: hf") from None
    llm = LLM(model=model_dir, trust_remote_code=trust_remote_code)
    outs = llm.chat(conversations, SamplingParams(temperature=0.0, max_tokens=max_new_tokens))
    return [o.outputs[0].text.strip() for o in outs]


def prediction_rows(records: Sequence[dict], outputs: Sequence[str], taxonomy: Taxonomy) -> list[dict]:
    """One row per test comment: gold, parsed prediction, raw output and parse status (never raises)."""
    rows = []
    for rec, raw in zip(records, outputs, strict=True):
        parsed = parse_output(raw, taxonomy.levels)
        segments, fixed_case = normalize_labels(parsed.segments, taxonomy)
        rows.append({"id": rec["id"], "text": rec["text"], "gold": rec["segments"], "pred": segments, "raw": raw,
                     "status": parsed.status, "json_valid": parsed.json_valid,
                     "schema_complete": parsed.schema_complete, "labels_case_fixed": fixed_case})
    return rows
