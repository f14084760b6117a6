#!/bin/sh
# Compiles actr_bench.erl and actr_bench_remote.erl into a temporary directory
# and runs one workload (or all six) on the Erlang/OTP VM with its default
# scheduler settings. The remote workloads run two distributed nodes on this
# host (short names, a random cookie; epmd is started by erl if needed).
# Usage: run.sh [pingpong|ring|spawn|fanin|remote_pingpong|remote_stream|all] [size]
# Prints one bench=... line per workload; exits non-zero if any run fails.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
which=${1:-all}
size=${2:-}

command -v erlc >/dev/null 2>&1 || { echo "erlc not found (apt-get install -y erlang-base)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/actr_bench_erl.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
erlc -o "$dir" "$here/actr_bench.erl" "$here/actr_bench_remote.erl"

# +P raises the process-count limit (default 262144) so the spawn workload
# can hold 1,000,000 live processes; schedulers stay at the defaults.
run_one() {
    # shellcheck disable=SC2086
    (cd "$dir" && erl -noshell +P 4194304 -pa "$dir" -run actr_bench main "$1" $size)
}

# Node A runs the workload; it starts node B itself (OTP's peer module) with
# the same cookie and code path, and stops it when done.
run_remote() {
    cookie=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    # shellcheck disable=SC2086
    (cd "$dir" && erl -noshell -sname "actr_bench_a_$$" -setcookie "$cookie" -pa "$dir" \
        -run actr_bench_remote main "$1" $size)
}

case "$which" in
    all)
        [ -z "$size" ] || { echo "size can only be given with a single workload" >&2; exit 2; }
        status=0
        for w in pingpong ring spawn fanin; do
            run_one "$w" || status=1
        done
        for w in remote_pingpong remote_stream; do
            run_remote "$w" || status=1
        done
        exit $status
        ;;
    pingpong|ring|spawn|fanin)
        run_one "$which"
        ;;
    remote_pingpong|remote_stream)
        run_remote "$which"
        ;;
    *)
        echo "usage: $0 [pingpong|ring|spawn|fanin|remote_pingpong|remote_stream|all] [size]" >&2
        exit 2
        ;;
esac
