#!/usr/bin/env bash
# Runs the unit tests (cmocka, TAP output) and the fuzz corpus replays of one
# build, and prints `N passed, N failed`.  Usage: tests/run-unit.sh [BUILD]
# (BUILD defaults to build; `make unit` passes it).
#
# tests/run.sh sources this file for the TAP helpers below, so the two runners
# count results the same way.

# ---- TAP helpers (shared with tests/run.sh) --------------------------------

# RESULTS is a file of "<status>\t<name>" lines, status one of ok, fail, skip.
tap_init() {
    TAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/regain-tap.XXXXXX")
    RESULTS=$TAP_TMP/results
    : >"$RESULTS"
}

# tap_run LABEL TIMEOUT_S CMD...: runs CMD with stdout+stderr captured, counts
# its `ok` / `not ok` lines (TAP "# SKIP" directives count as skipped), and
# records a failure named after LABEL when CMD crashed, timed out or exited
# non-zero without reporting a `not ok` itself.  Prints one summary line per
# command, and the failing lines with their `#` detail when something failed.
tap_run() {
    local label=$1 limit=$2
    shift 2
    local log
    log=$TAP_TMP/$(printf '%s' "$label" | tr -c 'A-Za-z0-9_.-' '_').log
    local start=$SECONDS rc=0
    # In the background and waited for, so that Ctrl-C stops the suite now:
    # `timeout` moves the step into a process group of its own, so the
    # terminal's SIGINT reaches only this shell, and a shell waiting for a
    # foreground command runs its INT trap only once the command has ended
    # (never, in practice: the next step started).  `wait` returns at once;
    # tap_traps' handlers then stop the step (tap_stop_step).
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null &
    TAP_STEP_PID=$!
    wait "$TAP_STEP_PID" || rc=$?
    TAP_STEP_PID=
    local took=$((SECONDS - start))

    # awk prints one result per TAP line, then a summary "n_ok n_fail n_skip".
    local counts
    counts=$(awk -v label="$label" -v out="$RESULTS" '
        function name_of(line) {
            sub(/^[ \t]*(not )?ok[ \t]*[0-9]*[ \t]*(-[ \t]*)?/, "", line)
            return line
        }
        /^[ \t]*not ok([ \t]|$)/ {
            n = name_of($0)
            if (n ~ /#[ \t]*TODO/) { next }
            printf "fail\t%s: %s\n", label, n >> out; nf++; next
        }
        /^[ \t]*ok([ \t]|$)/ {
            n = name_of($0)
            if (toupper(n) ~ /#[ \t]*SKIP/) { printf "skip\t%s: %s\n", label, n >> out; ns++; next }
            printf "ok\t%s: %s\n", label, n >> out; no++; next
        }
        END { printf "%d %d %d\n", no, nf, ns }
    ' "$log")
    local n_ok n_fail n_skip
    read -r n_ok n_fail n_skip <<<"$counts"

    local why=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        why="timed out after ${limit}s"
    elif [ "$rc" -gt 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
        why="exit status $rc"
    elif [ "$rc" -eq 0 ] && [ $((n_ok + n_fail + n_skip)) -eq 0 ]; then
        why="no TAP output"
    fi
    # A crash or timeout after some `not ok` lines is still worth its own line:
    # the lines after the crash never ran.
    if [ -n "$why" ] && { [ "$n_fail" -eq 0 ] || [ "$rc" -gt 123 ]; }; then
        printf 'fail\t%s: %s\n' "$label" "$why" >>"$RESULTS"
        n_fail=$((n_fail + 1))
    fi

    if [ "$n_fail" -eq 0 ]; then
        printf 'PASS  %-48s %3d ok%s  (%ds)\n' "$label" "$n_ok" \
            "$([ "$n_skip" -gt 0 ] && printf ', %d skipped' "$n_skip")" "$took"
    else
        printf 'FAIL  %-48s %3d ok, %d failed%s  (%ds)\n' "$label" "$n_ok" "$n_fail" \
            "${why:+ ($why)}" "$took"
        # The failing lines with their diagnostics, then the tail of a crash.
        awk '/^[ \t]*not ok/ { show = 1; print "      " $0; next }
             show && /^[ \t]*#/ { print "      " $0; next }
             { show = 0 }' "$log" | head -n 60
        if [ -n "$why" ]; then
            echo "      --- last lines of output ---"
            tail -n 25 "$log" | sed 's/^/      /'
        fi
    fi
    return 0
}

# tap_pid_alive PID: is PID running?  A child that has ended stays a zombie
# until waited for, and `kill -0` still finds it.
tap_pid_alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# tap_stop_step: stops the step tap_run is waiting for, if any, with all of
# its process group (`timeout` leads it; the test and the servers it started
# are in it): SIGTERM, so that a test can tear down what it set up (the
# integration harness stops its servers and drops its database), and SIGKILL
# to whatever is left after 5 s.
tap_stop_step() {
    local pid=${TAP_STEP_PID:-} i
    [ -n "$pid" ] || return 0
    TAP_STEP_PID=
    # The group may not exist yet (timeout not yet in it): the pid as well.
    kill -TERM -- "-$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        tap_pid_alive "$pid" || break
        sleep 0.1
    done
    # Not waited for yet, so neither the pid nor the group id can be reused.
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# tap_traps CLEANUP: on exit, stops the running step and then runs CLEANUP (a
# command string); SIGINT and SIGTERM exit 130 and 143 that way.  Signals are
# ignored during the cleanup, so a second Ctrl-C cannot leave things running.
tap_traps() {
    # shellcheck disable=SC2064 # CLEANUP is meant to be expanded now
    trap "trap '' INT TERM; tap_stop_step; $1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# tap_summary: prints every failure again and the final
# `N passed, N failed[, N skipped]` line; returns 1 when anything failed.
tap_summary() {
    local n_ok n_fail n_skip
    n_ok=$(grep -c '^ok	' "$RESULTS" || true)
    n_fail=$(grep -c '^fail	' "$RESULTS" || true)
    n_skip=$(grep -c '^skip	' "$RESULTS" || true)
    if [ "$n_fail" -gt 0 ]; then
        echo
        echo "Failures:"
        grep '^fail	' "$RESULTS" | cut -f2- | sed 's/^/  /'
    fi
    echo
    if [ "$n_skip" -gt 0 ]; then
        echo "$n_ok passed, $n_fail failed, $n_skip skipped"
    else
        echo "$n_ok passed, $n_fail failed"
    fi
    [ "$n_fail" -eq 0 ]
}

# run_unit_and_fuzz BUILD TAG: every unit binary and every fuzz replay of BUILD.
run_unit_and_fuzz() {
    local build=$1 tag=$2 bin name found=0
    for bin in "$build"/tests/unit_*; do
        [ -x "$bin" ] || continue
        found=1
        CMOCKA_MESSAGE_OUTPUT=TAP tap_run "[$tag] $(basename "$bin")" 300 "$bin"
    done
    for bin in "$build"/tests/replay_*; do
        [ -x "$bin" ] || continue
        found=1
        name=$(basename "$bin")
        name=${name#replay_}
        if [ ! -d "tests/fuzz/corpus/$name" ]; then
            printf 'fail\t[%s] replay_%s: no corpus in tests/fuzz/corpus/%s\n' \
                "$tag" "$name" "$name" >>"$RESULTS"
            echo "FAIL  [$tag] replay_$name: no corpus directory tests/fuzz/corpus/$name"
            continue
        fi
        tap_run "[$tag] replay_$name" 300 "$bin" "tests/fuzz/corpus/$name"
    done
    [ "$found" -eq 1 ] || echo "note: no unit or fuzz binaries in $build/tests"
    return 0
}

# Sanitizer settings for a build directory's binaries (the asan build only).
sanitizer_env() {
    case $1 in
    */asan | */asan/)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        # Known leaks inside libraries (never regain's own) may be listed in
        # tests/sanitizer/lsan.supp, one `leak:<frame>` per line, each with why.
        if [ -f tests/sanitizer/lsan.supp ]; then
            export LSAN_OPTIONS=suppressions=$(pwd)/tests/sanitizer/lsan.supp:print_suppressions=0
        fi
        ;;
    *)
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
        ;;
    esac
}

# ---- main ------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    cd "$(dirname "$0")/.." || exit 1
    BUILD=${1:-build}
    if [ ! -d "$BUILD" ]; then
        echo "run-unit.sh: $BUILD does not exist; run make first" >&2
        exit 1
    fi
    tap_init
    # shellcheck disable=SC2016 # expanded when the trap runs
    tap_traps 'rm -rf "$TAP_TMP"'
    sanitizer_env "$BUILD"
    run_unit_and_fuzz "$BUILD" "$(basename "$BUILD")"
    tap_summary
fi
