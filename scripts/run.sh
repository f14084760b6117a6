#!/usr/bin/env bash
# run.sh — install what is missing, build, and run a node in the foreground
# with the plugins and actors from runtime.yaml. Ctrl-C stops it. Extra
# arguments go to `actr run` (e.g. `./scripts/run.sh -c other.yaml`: the last -c wins).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
mkdir -p build
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/configure.log 2>&1; then
    cat build/configure.log >&2
    echo "run.sh: configure failed" >&2
    exit 1
fi
# The program and the shipped plugins that runtime.yaml loads (build/plugins/*.so).
if ! cmake --build build --target actr plugin_echo plugin_kv -j "$(nproc)" >build/build.log 2>&1; then
    cat build/build.log >&2
    echo "run.sh: build failed" >&2
    exit 1
fi
exec ./build/actr run -c runtime.yaml "$@"
