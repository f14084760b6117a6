#!/usr/bin/env bash
# cluster-partition.sh — a network partition between two `actr run` nodes,
# each in its own network namespace, joined by a veth pair.
#
#   cluster-partition.sh BINARY_DIR SOURCE_DIR LIBDIR   (as cmake/node.cmake calls it)
#
# Node p1 (10.200.0.1) and node p2 (10.200.0.2) run the test plugin
# cluster_probe (tests/plugins/cluster_probe.c). Over `actr ctl` (the control
# sockets are files, reachable from any namespace), p1's probe monitors p2's
# probe and sends it a request that p2 holds unanswered (60 s timeout). Then
# the link is cut (the veth end in p1's namespace goes down): within
# dead_after_ms and a margin, p1's monitor gets DOWN "noconnection" and the
# request fails with ENOTCONN (long before its timeout), and each node sees
# the other as not up. The link is restored: the nodes reconnect with the
# same incarnations (the old refs are good again) and a new request
# succeeds.
#
# Needs root and `ip netns`; without them it prints why and exits 0 (skip).
# Every exit path stops the nodes it started (by pid) and deletes its
# namespaces. Waits poll with a deadline; no fixed sleep waits for an event.
set -u

BIN=${1:?usage: cluster-partition.sh BINARY_DIR SOURCE_DIR LIBDIR}
ACTR="$BIN/actr"
PROBE="$BIN/tests/plugins/cluster_probe.so"
SECRET="partition-test-secret-0123456789"
DEAD_AFTER_MS=1500
HEARTBEAT_MS=250
PORT=7411
# Under sanitizers everything is slower: wider deadlines (never asserted as timings).
if grep -q "^ACTR_SANITIZE:STRING=.\+" "$BIN/CMakeCache.txt" 2>/dev/null; then
    WAIT_S=90
else
    WAIT_S=30
fi

skip() {
    echo "SKIP: cluster-partition: $*"
    exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null 2>&1 || skip "the 'ip' command (iproute2) is missing"
command -v jq >/dev/null 2>&1 || skip "jq is missing (it reads the ctl replies)"
[ -x "$ACTR" ] || { echo "FAIL: $ACTR not built"; exit 1; }
[ -f "$PROBE" ] || { echo "FAIL: $PROBE not built"; exit 1; }

TAG=$$
NS1="actr-p1-$TAG"
NS2="actr-p2-$TAG"
V1="ap1-$TAG"
V2="ap2-$TAG"
V1=${V1:0:15}
V2=${V2:0:15}
TMP=$(mktemp -d /tmp/actr-partition-XXXXXX)
PIDS=()
NSES=()

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "${NSES[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: cluster-partition: $*"
    for n in p1 p2; do
        if [ -f "$TMP/$n.log" ]; then
            echo "---- $n stderr ----"
            cat "$TMP/$n.log"
        fi
    done
    exit 1
}

# ---- the namespaces and the veth pair ----------------------------------------------
ip netns add "$NS1" 2>"$TMP/ip.err" || skip "ip netns add failed: $(cat "$TMP/ip.err")"
NSES+=("$NS1")
ip netns add "$NS2" 2>"$TMP/ip.err" || skip "ip netns add failed: $(cat "$TMP/ip.err")"
NSES+=("$NS2")
ip link add "$V1" type veth peer name "$V2" 2>"$TMP/ip.err" ||
    skip "cannot create a veth pair: $(cat "$TMP/ip.err")"
ip link set "$V1" netns "$NS1" || fail "move $V1 into $NS1"
ip link set "$V2" netns "$NS2" || fail "move $V2 into $NS2"
ip -n "$NS1" addr add 10.200.0.1/24 dev "$V1" || fail "address on $V1"
ip -n "$NS2" addr add 10.200.0.2/24 dev "$V2" || fail "address on $V2"
for ns in "$NS1" "$NS2"; do
    ip -n "$ns" link set lo up || fail "lo up in $ns"
done
ip -n "$NS1" link set "$V1" up || fail "$V1 up"
ip -n "$NS2" link set "$V2" up || fail "$V2 up"

# ---- the nodes ------------------------------------------------------------------------
config() { # NAME LISTEN_IP PEER_IP
    mkdir -p "$TMP/$1"
    cat >"$TMP/$1/runtime.yaml" <<EOF
node: {name: $1, data_dir: $TMP/$1/data}
control: {socket: $TMP/$1/ctl.sock}
store: {enabled: false}
log: {level: info}
cluster:
  enabled: true
  listen: "$2:$PORT"
  peers: ["$3:$PORT"]
  secret: "\${ACTR_CLUSTER_SECRET}"
  heartbeat_ms: $HEARTBEAT_MS
  dead_after_ms: $DEAD_AFTER_MS
plugins:
  - path: $PROBE
    actors:
      - {name: probe, type: cluster.probe}
EOF
}

start() { # NAME NS
    ip netns exec "$2" env ACTR_CLUSTER_SECRET="$SECRET" "$ACTR" run -c "$TMP/$1/runtime.yaml" \
        2>"$TMP/$1.log" >/dev/null &
    PIDS+=($!)
    eval "PID_$1=$!"
}

deadline() { echo $(($(date +%s) + ${1:-$WAIT_S})); }

# wait_for DESCRIPTION COMMAND...: poll COMMAND until it succeeds or WAIT_S pass.
wait_for() {
    local what=$1 end
    shift
    end=$(deadline)
    until "$@"; do
        [ "$(date +%s)" -le "$end" ] || fail "not within ${WAIT_S} s: $what"
        sleep 0.05 # poll interval, not a wait for the event
    done
}

ctl() { # NAME JSON -> the probe's reply on stdout
    "$ACTR" ctl -s "$TMP/$1/ctl.sock" call probe "$2" --timeout 20000
}

# 0 when NAME sees peer PEER in STATE ("up" or "not-up").
peer_is() {
    local st
    st=$("$ACTR" ctl -s "$TMP/$1/ctl.sock" raw '{"cmd":"cluster"}' 2>/dev/null |
        jq -r --arg p "$2" '.peers[]? | select(.name == $p) | .state' 2>/dev/null | head -n1)
    if [ "$3" = up ]; then [ "$st" = up ]; else [ "$st" != up ]; fi
}

is_up() { grep -q " up: " "$TMP/$1.log"; }

config p1 10.200.0.1 10.200.0.2
config p2 10.200.0.2 10.200.0.1
start p1 "$NS1"
start p2 "$NS2"
wait_for "p1 running" is_up p1
wait_for "p2 running" is_up p2
wait_for "p1 sees p2 up" peer_is p1 p2 up
wait_for "p2 sees p1 up" peer_is p2 p1 up

# ---- a monitor and a pending request across the link ----------------------------------
P2REF=$(ctl p2 '{"op":"self"}' | jq -r .ref) || fail "p2 self"
[ -n "$P2REF" ] && [ "$P2REF" != null ] || fail "p2 has no ref"
R=$(ctl p1 '{"op":"monitor","to":"probe@p2"}') || fail "monitor: $R"
[ "$(echo "$R" | jq -r .ok)" = true ] || fail "monitor refused: $R"
[ "$(echo "$R" | jq -r .ref)" = "$P2REF" ] || fail "monitor resolved another ref: $R"
R=$(ctl p1 '{"op":"call","to":"probe@p2","hold":true,"wait":false,"timeout":60000}') ||
    fail "call: $R"
[ "$(echo "$R" | jq -r .ok)" = true ] || fail "call refused: $R"
CALL=$(echo "$R" | jq -r .call)
held() { [ "$(ctl p2 '{"op":"stats"}' | jq -r .held)" = 1 ]; }
wait_for "p2 holds the request" held

# ---- cut the link ------------------------------------------------------------------------
CUT_AT=$(date +%s)
ip -n "$NS1" link set "$V1" down || fail "cutting the link"
down_seen() {
    ctl p1 '{"op":"stats"}' | jq -e --arg r "$P2REF" \
        '.downs | map(select(.from == $r and .reason == "noconnection")) | length == 1' \
        >/dev/null
}
call_failed() {
    local st
    st=$(ctl p1 '{"op":"stats"}' | jq -r --argjson i "$CALL" '.calls[$i] | "\(.state) \(.error)"')
    case "$st" in
    "failed ENOTCONN") return 0 ;;
    "pending "*) return 1 ;;
    *) fail "the pending call ended as '$st', expected failed ENOTCONN" ;;
    esac
}
# dead_after_ms plus a margin (the call's own timeout is 60 s: failing
# inside this deadline is ENOTCONN, not the timeout)
WAIT_S_SAVED=$WAIT_S
WAIT_S=$((DEAD_AFTER_MS / 1000 + 1 + WAIT_S_SAVED / 2))
wait_for "DOWN noconnection on p1 after the cut" down_seen
wait_for "the pending call failed with ENOTCONN" call_failed
wait_for "p1 sees p2 down" peer_is p1 p2 not-up
wait_for "p2 sees p1 down" peer_is p2 p1 not-up
WAIT_S=$WAIT_S_SAVED
echo "cluster-partition: the cut was noticed within $(($(date +%s) - CUT_AT)) s"
R=$(ctl p1 '{"op":"send","to":"probe@p2","n":1,"stream":1}')
[ "$(echo "$R" | jq -r .error)" = ENONODE ] || fail "send during the cut: expected ENONODE: $R"

# ---- restore it ------------------------------------------------------------------------------
ip -n "$NS1" link set "$V1" up || fail "restoring the link"
wait_for "p1 sees p2 up again" peer_is p1 p2 up
wait_for "p2 sees p1 up again" peer_is p2 p1 up
# the same incarnation: the old ref is good again, and a new request succeeds
R=$(ctl p1 '{"op":"resolve","to":"probe@p2"}')
[ "$(echo "$R" | jq -r .ref)" = "$P2REF" ] || fail "p2's probe has another ref after the heal: $R"
R=$(ctl p1 "{\"op\":\"call\",\"ref\":\"$P2REF\",\"arg\":\"healed\",\"timeout\":20000}")
[ "$(echo "$R" | jq -r .ok)" = true ] || fail "call after the heal: $R"
[ "$(echo "$R" | jq -r .reply.echo)" = healed ] || fail "call after the heal: $R"
R=$(ctl p1 '{"op":"send","to":"probe@p2","n":500,"stream":2}')
[ "$(echo "$R" | jq -r .ok)" = true ] || fail "send after the heal: $R"
stream_done() {
    ctl p2 '{"op":"stats"}' | jq -e \
        '.streams | map(select(.stream == 2 and .count == 500 and .next == 500 and .order_errors == 0 and .dups == 0)) | length == 1' \
        >/dev/null
}
wait_for "500 messages in order after the heal" stream_done

# ---- clean stop -----------------------------------------------------------------------------------
for n in p1 p2; do
    pid_var="PID_$n"
    kill -TERM "${!pid_var}"
    wait "${!pid_var}"
    code=$?
    [ $code = 0 ] || fail "$n exited $code after SIGTERM"
done
PIDS=()
grep -q "noconnection\|lost" "$TMP/p1.log" || fail "p1 logged nothing about losing p2"
echo "PASS: cluster-partition"
