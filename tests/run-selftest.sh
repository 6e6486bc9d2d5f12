#!/usr/bin/env bash
# Self-test of the test runner (tests/run.sh runs it first; prints TAP):
# Ctrl-C stops the suite promptly, with what the running step started.
#
# A terminal's Ctrl-C sends SIGINT to its foreground process group: make and
# tests/run.sh, but not the running step, which `timeout` moves into a group
# of its own.  So this starts a runner built like tests/run.sh (tap_traps,
# tap_run from tests/run-unit.sh) in a new session, with a step that sleeps
# for a minute, sends SIGINT to the runner's process group as the terminal
# would, and checks that the runner exits 130 within a few seconds, that the
# sleep is gone, that the runner's cleanup ran and that no further step began.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=tests/run-unit.sh
. tests/run-unit.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/regain-selftest.XXXXXX")
N=0 FAILED=0
check() { # NAME OK(0|1) [DETAIL]
    N=$((N + 1))
    if [ "$2" -eq 0 ]; then
        echo "ok $N - $1"
    else
        FAILED=$((FAILED + 1))
        echo "not ok $N - $1"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
    fi
}

RUNNER_PID="" SLEEP_PID=""
finish() {
    # Whatever the runner under test left behind (only when it failed).
    if [ -n "$RUNNER_PID" ] && tap_pid_alive "$RUNNER_PID"; then
        kill -KILL -- "-$RUNNER_PID" 2>/dev/null
    fi
    if [ -n "$SLEEP_PID" ] && grep -qa sleep "/proc/$SLEEP_PID/cmdline" 2>/dev/null; then
        kill -KILL "$SLEEP_PID" 2>/dev/null
    fi
    [ -z "$RUNNER_PID" ] || wait "$RUNNER_PID" 2>/dev/null
    [ ! -s "$WORK/tap_tmp" ] || rm -rf -- "$(cat "$WORK/tap_tmp")"
    rm -rf "$WORK"
}
trap finish EXIT

# The runner: setsid makes it a session and process group leader, so its pid
# is the group id.  A background command starts with SIGINT ignored, which a
# shell cannot trap; a terminal's shell starts `make test` with the default.
# The second step must never start.
# shellcheck disable=SC2016 # the runner's own script
env --default-signal=INT setsid bash -c '
    . tests/run-unit.sh
    tap_init
    echo "$TAP_TMP" >"$1/tap_tmp"
    tap_traps "echo cleaned >\"$1/cleaned\"; rm -rf \"\$TAP_TMP\""
    tap_run sleeper 120 bash -c "echo \$\$ >\"$1/sleep.pid\"; exec sleep 60"
    tap_run second 120 touch "$1/second"
' selftest "$WORK" >"$WORK/out" 2>&1 </dev/null &
RUNNER_PID=$!

for ((i = 0; i < 100; i++)); do
    [ -s "$WORK/sleep.pid" ] && break
    sleep 0.1
done
read -r SLEEP_PID <"$WORK/sleep.pid" 2>/dev/null
check "the step started" "$([ -n "$SLEEP_PID" ] && echo 0 || echo 1)" "$(cat "$WORK/out")"
[ -n "$SLEEP_PID" ] || { echo "1..$N"; exit 1; }
sleep 0.3 # the step is in `sleep 60` now

kill -INT -- "-$RUNNER_PID"
t0=$(date +%s%N)
for ((i = 0; i < 80; i++)); do
    tap_pid_alive "$RUNNER_PID" || break
    sleep 0.1
done
took_ms=$((($(date +%s%N) - t0) / 1000000))
alive=0
tap_pid_alive "$RUNNER_PID" && alive=1
check "the runner ended within 5 s of SIGINT (took ${took_ms} ms)" \
    "$([ $alive -eq 0 ] && [ $took_ms -le 5000 ] && echo 0 || echo 1)"
if [ $alive -eq 0 ]; then
    rc=0
    wait "$RUNNER_PID" || rc=$?
    RUNNER_PID=""
    check "the runner exited 130 (got $rc)" "$([ $rc -eq 130 ] && echo 0 || echo 1)" "$(cat "$WORK/out")"
fi
sleep_alive=0
tap_pid_alive "$SLEEP_PID" && grep -qa sleep "/proc/$SLEEP_PID/cmdline" 2>/dev/null && sleep_alive=1
check "the step's sleep is gone" "$sleep_alive"
check "the runner's cleanup ran" "$([ -f "$WORK/cleaned" ] && echo 0 || echo 1)"
tap_tmp=$(cat "$WORK/tap_tmp" 2>/dev/null)
check "the runner's temporary directory is gone" "$([ -n "$tap_tmp" ] && [ ! -e "$tap_tmp" ] && echo 0 || echo 1)"
check "no further step started" "$([ ! -e "$WORK/second" ] && echo 0 || echo 1)"

echo "1..$N"
[ $FAILED -eq 0 ]
