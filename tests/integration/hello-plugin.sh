#!/usr/bin/env bash
# hello-plugin.sh — ctest `integration.hello_plugin`: the README's "Write your
# first service" steps, done the way a newcomer does them.
#
#   1. install the build into a fresh prefix (cmake --install --prefix);
#   2. build examples/hello-plugin with its Makefile against that prefix,
#      found through pkg-config only (make BUILD=<temp dir>: the source tree
#      stays clean);
#   3. check the .so references nothing of the runtime (no undefined actr_*
#      symbol, no libactr in NEEDED) and that `actr plugin info` describes it;
#   4. copy hello.yaml next to it, `actr check` it, start `actr run -c
#      hello.yaml` from there, wait for the "<node> up: " log line (polled,
#      with a deadline);
#   5. `actr ctl call greeter '{"name":"Ada"}'` answers {"greeting": "Hello, Ada!"},
#      a request without a name gets the error reply, `actr ctl actors` and
#      `actr ctl plugins` list the greeter and the plugin;
#   6. SIGTERM: the node drains and exits with status 0.
# The node is killed and every temporary file removed on any exit.
#
# usage: hello-plugin.sh BINARY_DIR SOURCE_DIR [LIBDIR]
#   LIBDIR is CMAKE_INSTALL_LIBDIR (lib, lib64, lib/x86_64-linux-gnu, ...);
#   when absent, the install tree is searched for actr.pc.
# Environment: CC (compiler for the plugin, default cc), ACTR_TEST_KEEP=1
# keeps the temporary directory for inspection.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BINARY_DIR SOURCE_DIR [LIBDIR]" >&2
    exit 2
fi
bin_dir=$(cd "$1" && pwd)
src_dir=$(cd "$2" && pwd)
libdir=${3:-}

# Sanitizer builds run slower; the deadlines are generous everywhere since
# they only bound a failure, never pace a success.
up_deadline_s=60
exit_deadline_s=30

tmp=$(mktemp -d "${TMPDIR:-/tmp}/actr-hello.XXXXXX")
node_pid=""
step="setup"

say() { printf 'hello-plugin: %s\n' "$*"; }
fail() {
    printf 'hello-plugin: FAILED at %s: %s\n' "$step" "$*" >&2
    exit 1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
        kill -TERM "$node_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$node_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$node_pid" 2>/dev/null || true
        wait "$node_pid" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ] && [ -f "$tmp/work/node.log" ]; then
        echo "---- node log ($tmp/work/node.log) ----" >&2
        tail -n 100 "$tmp/work/node.log" >&2 || true
        echo "--------------------------------------" >&2
    fi
    if [ "${ACTR_TEST_KEEP:-0}" = 1 ]; then
        echo "hello-plugin: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a command with a time limit; its output goes to stdout, and a failure
# (or a timeout) fails the step with that output.
run() {
    local out rc=0
    out=$(timeout 30 "$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" >&2
        fail "'$*' exited with status $rc"
    fi
    printf '%s\n' "$out"
}

# ---- 1. install --------------------------------------------------------------
step="install"
prefix="$tmp/prefix"
if ! cmake --install "$bin_dir" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "cmake --install $bin_dir --prefix $prefix"
fi
if [ -n "$libdir" ] && [ -f "$prefix/$libdir/pkgconfig/actr.pc" ]; then
    pcdir="$prefix/$libdir/pkgconfig"
else
    pc=$(find "$prefix" -name actr.pc -path '*/pkgconfig/*' | head -n 1)
    [ -n "$pc" ] || fail "no actr.pc under $prefix"
    pcdir=$(dirname "$pc")
fi
actr="$prefix/bin/actr"
[ -x "$actr" ] || fail "$actr was not installed"
say "installed into $prefix (pkg-config dir $pcdir)"

# ---- 2. build the plugin out of tree ----------------------------------------
step="make"
work="$tmp/work"
mkdir -p "$work"
export PKG_CONFIG_PATH="$pcdir"
# Only the installed tree may provide the headers: the Makefile must not
# reach into the source tree for them.
cflags=$(pkg-config --cflags actr)
case "$cflags" in
*"$src_dir"*) fail "pkg-config --cflags actr points into the source tree: $cflags" ;;
esac
in_tree_so="$src_dir/examples/hello-plugin/hello.so"
had_in_tree_so=0
[ ! -e "$in_tree_so" ] || had_in_tree_so=1
run make -C "$src_dir/examples/hello-plugin" BUILD="$work" CC="${CC:-cc}" >"$tmp/make.log"
so="$work/hello.so"
[ -f "$so" ] || fail "make did not produce $so"
if [ "$had_in_tree_so" = 0 ] && [ -e "$in_tree_so" ]; then
    fail "make BUILD=... wrote into the source tree ($in_tree_so)"
fi
grep -q -- '-Wl,--no-undefined' "$tmp/make.log" || fail "the link line lacks -Wl,--no-undefined"
if grep -q -- '-lactr' "$tmp/make.log"; then
    fail "the link line names libactr: $(cat "$tmp/make.log")"
fi

# ---- 3. what the .so references ---------------------------------------------
step="symbols"
undef=$(nm -D --undefined-only "$so")
if grep -q 'actr_' <<<"$undef"; then
    fail "hello.so has undefined actr_ symbols: $(grep 'actr_' <<<"$undef" | tr '\n' ' ')"
fi
defined=$(nm -D --defined-only "$so")
grep -qw 'actr_plugin_entry' <<<"$defined" || fail "hello.so does not export actr_plugin_entry"
needed=$(readelf -d "$so" | grep NEEDED || true)
if grep -q 'libactr' <<<"$needed"; then
    fail "hello.so needs libactr: $needed"
fi

step="plugin info"
info=$(run "$actr" plugin info "$so")
printf '%s\n' "$info"
for want in hello 1.0.0 greeter; do
    grep -qw -- "$want" <<<"$info" || fail "'actr plugin info' does not show '$want'"
done

# ---- 4. start the node from the example's config ----------------------------
step="run"
cp "$src_dir/examples/hello-plugin/hello.yaml" "$work/hello.yaml"
cd "$work"
run "$actr" check -c hello.yaml
# Started directly (not under `timeout`, which would signal it a second time
# through its process group): the EXIT trap stops it on every path.
"$actr" run -c hello.yaml >node.log 2>&1 &
node_pid=$!

deadline=$((SECONDS + up_deadline_s))
until grep -q ' up: ' node.log; do
    if ! kill -0 "$node_pid" 2>/dev/null; then
        rc=0
        wait "$node_pid" || rc=$?
        node_pid=""
        fail "actr run exited with status $rc before it was up"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "no ' up: ' line from actr run within ${up_deadline_s}s"
    sleep 0.1
done
say "node up: $(grep ' up: ' node.log | head -n 1)"

# ---- 5. talk to it -----------------------------------------------------------
step="ctl call"
reply=$(run "$actr" ctl -c hello.yaml call greeter '{"name":"Ada"}')
say "call greeter {\"name\":\"Ada\"} -> $reply"
grep -qF 'Hello, Ada!' <<<"$reply" || fail "the reply lacks 'Hello, Ada!': $reply"
# The README shows the reply exactly; compare it up to white space.
[ "$(tr -d ' \t\n' <<<"$reply")" = '{"greeting":"Hello,Ada!"}' ] ||
    fail "the reply is not {\"greeting\": \"Hello, Ada!\"} (as the README shows): $reply"

step="ctl call (bad request)"
reply=$(run "$actr" ctl -c hello.yaml call greeter '{"nom":"Ada"}')
say "call greeter {\"nom\":\"Ada\"} -> $reply"
grep -qF 'expected {\"name\": string}' <<<"$reply" ||
    fail "a request without a name did not get the error reply: $reply"

step="ctl actors"
actors=$(run "$actr" ctl -c hello.yaml actors)
printf '%s\n' "$actors"
grep -qw 'greeter' <<<"$actors" || fail "'actr ctl actors' does not list greeter"

step="ctl plugins"
plugins=$(run "$actr" ctl -c hello.yaml plugins)
printf '%s\n' "$plugins"
grep -qw 'hello' <<<"$plugins" || fail "'actr ctl plugins' does not list hello"
grep -qF '1.0.0' <<<"$plugins" || fail "'actr ctl plugins' does not show version 1.0.0"

step="log"
# The greeter logs each greeting through actr_ctx_log; the line may reach the
# log a moment after the reply.
deadline=$((SECONDS + 10))
until grep -qF 'greeted Ada (greeting #1)' node.log; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no 'greeted Ada (greeting #1)' line in the node log"
    sleep 0.1
done

# ---- 6. stop -----------------------------------------------------------------
step="stop"
kill -TERM "$node_pid"
deadline=$((SECONDS + exit_deadline_s))
while kill -0 "$node_pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] ||
        fail "actr run did not exit within ${exit_deadline_s}s of SIGTERM"
    sleep 0.1
done
rc=0
wait "$node_pid" || rc=$?
node_pid=""
[ "$rc" -eq 0 ] || fail "actr run exited with status $rc after SIGTERM (expected 0)"
[ ! -S hello-data/control.sock ] || fail "the control socket was left behind after exit"

say "ok"
