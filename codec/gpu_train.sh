#!/usr/bin/env bash
# One device call of the GPU training recipe (codec/weights/MODEL_CARD.md, "Next GPU session"): build the
# entropy extension if this machine lacks it, then resume from the shipped model set and train for MINUTES,
# writing the run to $OUT/run (checkpoints every minute, so a call killed at its limit still returns weights)
# and the log to $OUT/train.log. The optimiser checkpoint last.pt (84 MB) is deleted at the end: it is over
# what a call may return, and last-weights.pt is what `python -m codec.weights` exports.
#
#   here:   python -m codec.pack .gpu_data
#   device: bash codec/gpu_train.sh 7.3          (carry [".gpu_data"], timeout_s 590; 7.3 minutes ran 473 s)
#
# Arguments after MINUTES go to codec.train and override the recipe's (argparse keeps the last value).
# GPU_DATA (default .gpu_data) and PYTHON (default python3) are read from the environment.
set -euo pipefail
minutes=${1:?usage: gpu_train.sh MINUTES [codec.train arguments]}
shift
data=${GPU_DATA:-.gpu_data}
py=${PYTHON:-python3}
: "${OUT:?OUT must name the folder the run is written to}"
export PYTHONPATH="$PWD/$data/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$py" -c "import codec.entropy._metans" 2>/dev/null || "$py" setup.py -q build_ext --inplace
"$py" -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'NO GPU: training on the CPU')"
"$py" -m codec.train --train "$data/train" --val "$data/val" --resume shipped --minutes "$minutes" --batch 128 \
    --crop 256 --lr 5e-4 --qat-from 0.5 --rate-ramp 0 --regime-weights 1,1,2,2 --eval-every 100 \
    --out "$OUT/run" "$@" 2>&1 | tee "$OUT/train.log"
rm -f "$OUT/run/last.pt"
