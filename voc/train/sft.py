"""Supervised fine-tuning with transformers' Trainer: full or LoRA, resumable, launched through accelerate.

Checkpoints live in a persistent directory stamped with a fingerprint of (train file, sft params, base
model files, world size); a rerun after a kill resumes from the last complete checkpoint of the *same* run and
wipes checkpoints of a different one. The final model is saved atomically as a plain safetensors directory.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from voc.core.errors import ParamsError, VocError
from voc.core.files import atomic_path, read_jsonl, write_json
from voc.core.params import check_sft_params
from voc.core.schema import SFT
from voc.model.loading import load_tokenizer, load_weights, pick_device
from voc.train.batching import batching_args, completion_logits_supported, make_collator
from voc.train.checkpoints import GracefulStop, last_complete_checkpoint, prepare_checkpoints, run_fingerprint
from voc.train.examples import build_dataset
from voc.train.freeze import apply_freeze

log = logging.getLogger("voc.train.sft")


class TrainingInterrupted(VocError):
    """Training stopped on SIGTERM after saving a checkpoint; a rerun resumes from it."""


def _use_cpu() -> bool:
    """CPU when no GPU is visible, or when `accelerate launch` exported ACCELERATE_USE_CPU (its single-process
    launcher does so for `use_cpu: true`; its torchrun launcher does not, so multi-process CPU runs on a GPU box
    also need CUDA_VISIBLE_DEVICES="")."""
    forced = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    return forced or pick_device()[0] == "cpu"


def learning_rate(sft: SFT) -> float:
    """`sft.lora.lr` for LoRA where set (adapters usually want a ~10x higher rate than full SFT), else `sft.lr`."""
    lora_lr = sft.lora.lr if sft.method == "lora" and sft.lora else None
    return lora_lr if lora_lr is not None else sft.lr


def make_training_args(sft: SFT | dict, out_dir: str | Path, use_cpu: bool | None = None, **overrides: Any):
    """TrainingArguments from the sft: block. bf16 on CUDA, fp32 on CPU; no automatic reporting (DVCLive is
    added explicitly); seeded data order; few checkpoints kept. Weights are always saved as safetensors
    (transformers 5 has no pickle option left). The schema has typed every value, so nothing is cast here.
    Attention is transformers' default (SDPA) in both cases."""
    from transformers import TrainingArguments

    sft = check_sft_params(sft)
    use_cpu = _use_cpu() if use_cpu is None else use_cpu
    bf16 = not use_cpu
    kwargs: dict[str, Any] = dict(
        output_dir=str(out_dir),
        learning_rate=learning_rate(sft),
        num_train_epochs=sft.epochs,
        max_steps=sft.max_steps,  # -1 = train for num_train_epochs (the schema refuses 0)
        per_device_train_batch_size=sft.batch_size,
        gradient_accumulation_steps=sft.grad_accum,
        warmup_steps=float(sft.warmup_ratio),  # a float below 1 is a ratio of the total steps (0 stays a ratio)
        weight_decay=sft.weight_decay,
        lr_scheduler_type=sft.lr_scheduler,
        save_strategy="steps",
        save_steps=sft.save_steps,
        save_total_limit=2,
        logging_strategy="steps",
        logging_steps=sft.logging_steps,
        seed=sft.seed,
        data_seed=sft.seed,
        bf16=bf16,
        use_cpu=use_cpu,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=bf16,  # pinned memory only helps host-to-GPU copies
        ddp_find_unused_parameters=False,
        disable_tqdm=True,
        **batching_args(sft),
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def _load_model(base: str | Path, sft: SFT, trust_remote_code: bool):
    """fp32 master weights on CPU (the Trainer moves them and autocasts to bf16 on CUDA); LoRA wraps them with peft
    adapters (`sft.freeze` is applied after, by the caller)."""
    model = load_weights(base, trust_remote_code, dtype=torch.float32, device="cpu")
    if sft.method == "lora":
        from peft import LoraConfig, get_peft_model

        lc = sft.lora
        config = LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=lc.target_modules,
                            task_type="CAUSAL_LM")
        model = get_peft_model(model, config)
    return model


def _dvclive_callback(live_dir: str | Path, resume: bool):
    """transformers' own DVCLive callback (dvclive's is deprecated), logging at the Trainer's global step so a
    resumed curve continues in place.

    None (with a warning) where dvclive cannot be imported, e.g. a GPU box without DVC: the model and
    train_stats.json are still written, only the training curves are missing.
    """
    try:
        from dvclive import Live
    except ImportError as e:
        log.warning("dvclive is not importable (%s): no training curves in %s; install dvclive to get them",
                    e, live_dir)
        return None

    from transformers.integrations import DVCLiveCallback

    class StepAlignedDVCLive(DVCLiveCallback):
        def on_log(self, args, state, control, model=None, logs=None, **kwargs):
            self.live.step = state.global_step
            # Wall-clock rates (train_runtime, *_per_second) differ on every run: in the git-tracked
            # metrics/sft they would dirty the repo on an identical rerun. The Trainer's own log prints them.
            logs = {k: v for k, v in (logs or {}).items() if not k.endswith(("_runtime", "_per_second"))}
            super().on_log(args, state, control, model=model, logs=logs, **kwargs)

    live = Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, resume=resume)
    return StepAlignedDVCLive(live=live)


def _save_final(trainer, tokenizer, out_dir: str | Path, method: str) -> None:
    """Plain full model (LoRA merged) + tokenizer with its chat template, renamed into place only when done.

    `get_state_dict` is collective (gathers FSDP shards), so every rank calls it; only rank 0 writes.
    """
    acc = trainer.accelerator
    state_dict = acc.get_state_dict(trainer.model) if method == "full" else None
    if not acc.is_main_process:
        return
    model = acc.unwrap_model(trainer.model)
    if method == "lora":
        model = model.merge_and_unload()
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)


def _checkpoint_step(ckpt: str) -> int:
    from transformers import TrainerState

    return TrainerState.load_from_json(os.path.join(ckpt, "trainer_state.json")).global_step


def _resume_point(state, ckpt_dir: Path, fingerprint: Callable[[], dict]) -> str | None:
    """Rank 0 validates (and maybe wipes) the checkpoint dir; every rank then reads the same resume point.
    Only rank 0 computes the fingerprint: it hashes the base model's weights (GBs for a large model)."""
    if state.is_main_process:
        prepare_checkpoints(ckpt_dir, fingerprint())
    state.wait_for_everyone()
    return last_complete_checkpoint(ckpt_dir)


def _setup_process(sft: SFT):
    """The accelerate state, with every core for a lone CPU process, after the checks that need no model."""
    from accelerate import PartialState

    state = PartialState(cpu=_use_cpu())
    if state.num_processes == 1 and state.device.type == "cpu":
        # `accelerate launch` exports OMP_NUM_THREADS=1 (right for several ranks); one CPU process should use
        # every core it may run on: on the 2-core demo box this halves the SFT time.
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    if sft.method == "lora" and os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        raise ParamsError("params.yaml", None, "sft.method lora cannot be merged under FSDP sharding",
                          "use method: full with FSDP, or a DDP/single-GPU accelerate config for LoRA")
    return state


def _examples(train_path: str | Path, tokenizer, sft: SFT):
    """The tokenised training set and its length stats; refuses (before any checkpoint is touched) when too many
    examples exceed sft.max_length."""
    dataset, stats = build_dataset(read_jsonl(train_path), tokenizer, sft.max_length, source=str(train_path),
                                   max_truncated_share=sft.max_truncated_share)
    if stats["truncated"]:
        log.warning("%d of %d examples longer than sft.max_length=%d: %d had their comment cut (answer kept whole), "
                    "%d dropped (even an empty comment left no room for the answer)", stats["truncated"],
                    stats["rows"], sft.max_length, stats["comment_cut"], stats["dropped_answer_too_long"])
    return dataset, stats


def _callbacks(state, live_dir: str | Path, resumed: bool, stats: dict) -> tuple[GracefulStop, list]:
    """SIGTERM checkpointing, and on rank 0 the DVCLive logger with the data stats and parameter counts."""
    stopper = GracefulStop(enabled=state.num_processes == 1)
    callbacks: list = [stopper]
    live_cb = _dvclive_callback(live_dir, resume=resumed) if state.is_main_process else None
    if live_cb is not None:
        for key in ("truncated", "comment_cut", "dropped_answer_too_long", "examples"):
            live_cb.live.log_metric(f"data/{key}", stats[key], plot=False)
        for key in ("trainable", "total"):
            live_cb.live.log_metric(f"params/{key}", stats[f"{key}_params"], plot=False)
        callbacks.append(live_cb)
    return stopper, callbacks


def _finish(state, trainer, result, out: dict, live_dir: str | Path, ckpt_dir: Path) -> dict:
    """Write the stats (rank 0) and free the checkpoints of a finished run."""
    log.info("trained %d steps in %.1f s", trainer.state.global_step, result.metrics.get("train_runtime", 0.0))
    if state.is_main_process:
        write_json(Path(live_dir) / "train_stats.json", out)
        # Checkpoints only serve to resume an unfinished run; a finished one frees the disk (GBs of fp32 +
        # optimizer state), and a forced rerun (`dvc repro -f`) then really retrains.
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    state.wait_for_everyone()
    return out


def train_sft(train_path: str | Path, base_dir: str | Path, out_dir: str | Path, checkpoints_dir: str | Path,
              live_dir: str | Path, sft: SFT | dict, trust_remote_code: bool = False, **arg_overrides: Any) -> dict:
    """Fine-tune `base_dir` (a safetensors folder, as the assets stage writes) on the chat rows of `train_path`;
    save a plain model to `out_dir`. A dict `sft` is validated against the schema first.

    Returns the stats also written to `<live_dir>/train_stats.json` (rank 0). Raises TrainingInterrupted
    after a SIGTERM (a checkpoint was saved first, single-process runs only).
    """
    from transformers import Trainer

    sft = check_sft_params(sft)
    state = _setup_process(sft)
    ckpt_dir = Path(checkpoints_dir)
    tokenizer = load_tokenizer(base_dir, trust_remote_code)
    dataset, stats = _examples(train_path, tokenizer, sft)
    fingerprint = partial(run_fingerprint, train_path, sft.model_dump(), base_dir, state.num_processes)
    resume = _resume_point(state, ckpt_dir, fingerprint)
    model = _load_model(base_dir, sft, trust_remote_code)
    counts = apply_freeze(model, sft.freeze)
    stats = {**stats, "trainable_params": counts["trainable"], "total_params": counts["total"]}
    args = make_training_args(sft, ckpt_dir, **arg_overrides)
    stopper, callbacks = _callbacks(state, live_dir, resume is not None, stats)
    collator = make_collator(tokenizer, sft.packing, completion_logits_supported(model))
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                      processing_class=tokenizer, callbacks=callbacks)
    resumed_step = _checkpoint_step(resume) if resume else 0
    if resume:
        log.warning("Resuming from checkpoint %s at global step %d", resume, resumed_step)
    result = trainer.train(resume_from_checkpoint=resume)
    stopper.restore()
    if stopper.stopped:
        raise TrainingInterrupted(f"SIGTERM: stopped at global step {trainer.state.global_step} after saving "
                                  f"a checkpoint in {ckpt_dir}; rerun the stage to resume")
    _save_final(trainer, tokenizer, out_dir, sft.method)
    out = {**stats, "global_step": trainer.state.global_step, "resumed_from_step": resumed_step,
           "train_loss": result.training_loss,
           "world_size": state.num_processes, "method": sft.method, "bf16": bool(args.bf16)}
    return _finish(state, trainer, result, out, live_dir, ckpt_dir)
