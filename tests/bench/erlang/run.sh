#!/bin/sh
# Compiles actr_bench.erl into a temporary directory and runs one workload
# (or all four) on the Erlang/OTP VM with its default scheduler settings.
# Usage: run.sh [pingpong|ring|spawn|fanin|all] [size]
# Prints one bench=... line per workload; exits non-zero if any run fails.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
which=${1:-all}
size=${2:-}

command -v erlc >/dev/null 2>&1 || { echo "erlc not found (apt-get install -y erlang-base)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/actr_bench_erl.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
erlc -o "$dir" "$here/actr_bench.erl"

# +P raises the process-count limit (default 262144) so the spawn workload
# can hold 1,000,000 live processes; schedulers stay at the defaults.
run_one() {
    # shellcheck disable=SC2086
    (cd "$dir" && erl -noshell +P 4194304 -pa "$dir" -run actr_bench main "$1" $size)
}

case "$which" in
    all)
        [ -z "$size" ] || { echo "size can only be given with a single workload" >&2; exit 2; }
        status=0
        for w in pingpong ring spawn fanin; do
            run_one "$w" || status=1
        done
        exit $status
        ;;
    pingpong|ring|spawn|fanin)
        run_one "$which"
        ;;
    *)
        echo "usage: $0 [pingpong|ring|spawn|fanin|all] [size]" >&2
        exit 2
        ;;
esac
