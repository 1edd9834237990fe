#!/usr/bin/env bash
# The GPU check, for a bare machine: JAX with CUDA, PyTorch, numpy, scipy, pandas, scikit-learn,
# statsmodels and matplotlib installed; no TensorFlow; no package index. Installs ablab from this
# checkout and the wheels download_wheels.sh fetched (benchmarks/device/wheels/, carried with the
# checkout), then times the seed and series studies on JAX: Keras fit and the fused engine. Prints the device, wall times, their ratios to fit, per-arm accuracies and
# fused vs fit per arm (Welch); the result files go to $OUT (else benchmarks/results/).
# Sized to finish in 8 minutes on one H100.
#
#   benchmarks/device/device_check.sh
#   PYTHON=/path/to/python JAX_PLATFORMS=cpu SEED_EPOCHS=2 SERIES_EPOCHS=1 benchmarks/device/device_check.sh
#
# The second line is the rehearsal on a CPU. Sizes: SEED_EPOCHS (100, the preset's), SERIES_EPOCHS
# (30; the ratio fit/fused compares like with like), SEEDS ("0 1 2"); each study is stopped after
# STUDY_TIMEOUT seconds (200).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
wheels=benchmarks/device/wheels
started=$SECONDS

# Into $PYTHON's own venv, or a venv over the image's packages (--system-site-packages).
if "$python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
    venv="$("$python" -c 'import sys; print(sys.prefix)')"
else
    venv="${VENV:-/tmp/ablab-device-venv}"
    "$python" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install --quiet --no-index --no-deps "$wheels"/*.whl
"$venv/bin/python" -m pip install --quiet --no-index --no-deps --no-build-isolation -e .
echo "installed in $((SECONDS - started)) s into $venv"

"$venv/bin/python" - <<'PY'
import importlib.util

import jax

from ablab.run.backends import jax as ablab_jax

print(f"jax {jax.__version__}; devices: {jax.devices()}; ablab's device tag: {ablab_jax.device()}")
print(f"tensorflow installed: {importlib.util.find_spec('tensorflow') is not None}; "
      f"fused engine on JAX: {ablab_jax.FUSED_ENGINE}")
PY

out="${OUT:-benchmarks/results}"
read -r -a seeds <<< "${SEEDS:-0 1 2}"
for study in seed series; do
    if [ "$study" = seed ]; then epochs="${SEED_EPOCHS:-100}"; else epochs="${SERIES_EPOCHS:-30}"; fi
    timeout "${STUDY_TIMEOUT:-200}" "$venv/bin/python" benchmarks/backends.py --backends jax \
        --studies "$study" --epochs "$epochs" --seeds "${seeds[@]}" --skip-naive \
        --reference "jax fit" --name device --out-dir "$out" \
        || echo "study=$study did not finish (exit $?) within ${STUDY_TIMEOUT:-200} s"
done
echo "device check: $((SECONDS - started)) s in all"
