#!/usr/bin/env bash
# test.sh — the whole test matrix, as CI runs it:
#   a) build/       RelWithDebInfo, every test (all labels)
#   b) build-asan/  ASan+UBSan, every test except the benchmarks
#   c) build-tsan/  TSan, the suites labelled tsan
# ACTR_TEST_QUICK=1 runs stage a) only. Every stage runs even if an earlier
# one failed; the script fails if any did. One summary line per stage, then a
# total line "total: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

./scripts/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
summary=()
total_passed=0
total_failed=0
failed_stages=0

# stage NAME DIR "CMAKE ARGS" "CTEST ARGS" [ENV=VALUE...]
stage() {
    local name=$1 dir=$2 cmake_args=$3 ctest_args=$4
    shift 4
    local log="$dir/ctest.log" start=$SECONDS status=ok passed=0 failed=0 line

    echo "=== stage $name: $dir ($cmake_args) ==="
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    if ! cmake -S . -B "$dir" $cmake_args >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log"
        status="configure failed"
    elif ! cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1; then
        grep -E -A5 'error|warning' "$dir/build.log" | head -200
        echo "(full build log: $dir/build.log)"
        status="build failed"
    else
        # shellcheck disable=SC2086
        env "$@" ctest --test-dir "$dir" --output-on-failure -j2 $ctest_args 2>&1 | tee "$log"
        local rc=${PIPESTATUS[0]}
        line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
        if [ -n "$line" ]; then
            local out_of
            failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
            out_of=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
            passed=$((out_of - failed))
        fi
        if [ "$rc" -ne 0 ]; then
            status="tests failed"
        elif [ "$passed" -eq 0 ]; then
            status="no tests ran"
        fi
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$status" = ok ]; then
        summary+=("stage $name: ok, $passed passed, $failed failed ($((SECONDS - start)) s)")
    else
        failed_stages=$((failed_stages + 1))
        summary+=("stage $name: FAILED ($status), $passed passed, $failed failed ($((SECONDS - start)) s)")
    fi
}

stage "a (RelWithDebInfo)" build "-DCMAKE_BUILD_TYPE=RelWithDebInfo" ""

if [ "${ACTR_TEST_QUICK:-0}" != 1 ]; then
    stage "b (address,undefined)" build-asan \
        "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTR_SANITIZE=address,undefined -DACTR_BUILD_BENCH=OFF" \
        "-LE bench" \
        ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    stage "c (thread)" build-tsan \
        "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DACTR_SANITIZE=thread -DACTR_BUILD_BENCH=OFF -DACTR_BUILD_EXAMPLES=OFF" \
        "-L tsan" \
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
fi

echo
for line in "${summary[@]}"; do
    echo "$line"
done
echo "total: $total_passed passed, $total_failed failed"
[ "$failed_stages" -eq 0 ]
