#!/usr/bin/env bash
# setup.sh — install the Debian 12 packages actr needs to build and test,
# only those that are missing. Idempotent: prints nothing when all are there.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libuv1-dev libmsgpack-dev libyaml-dev libsqlite3-dev libjansson-dev libssl-dev
    clang libclang-rt-14-dev
)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup.sh: not a Debian system; install by hand: ${packages[*]}" >&2
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup.sh: missing packages (${missing[*]}) and no sudo: install them as root" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done"
