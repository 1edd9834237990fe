#!/usr/bin/env bash
# On a machine that reaches a package index: download the wheels of wheels.txt, and nothing
# else, into benchmarks/device/wheels/ for device_check.sh to install with --no-index.
#
#   benchmarks/device/download_wheels.sh                  # wheels for this machine's Python
#   PYTHON_VERSION=3.12 benchmarks/device/download_wheels.sh   # for the GPU image's Python
#
# The binary wheels (pydantic-core, sqlalchemy, cryptography, ...) are built per Python
# version: download for the image's. antlr4-python3-runtime (hydra's parser) is published as a
# source archive only; it is built here into a pure-Python wheel. Says the total size: what
# a device call carries (with the ~1 MB checkout) must stay under 64 MiB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wheels="$here/wheels"
python="${PYTHON:-python3}"
mkdir -p "$wheels"
target=()
if [ -n "${PYTHON_VERSION:-}" ]; then
    target=(--python-version "$PYTHON_VERSION" --implementation cp --platform manylinux_2_34_x86_64
            --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --only-binary=:all:)
fi
grep -v '^antlr4' "$here/wheels.txt" | grep -v '^#' > "$wheels/.binary.txt"
"$python" -m pip download --quiet --no-deps "${target[@]}" -d "$wheels" -r "$wheels/.binary.txt"
"$python" -m pip wheel --quiet --no-deps -w "$wheels" "$(grep '^antlr4' "$here/wheels.txt")"
rm -f "$wheels/.binary.txt" "$wheels"/*.tar.gz
count=$(ls "$wheels"/*.whl | wc -l)
echo "$count wheels in $wheels: $(du -sh "$wheels" | cut -f1) (limit: 64 MiB with the checkout)"
