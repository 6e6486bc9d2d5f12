#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`):
#   1. builds the normal and the sanitizer (ASan + UBSan) builds;
#   2. starts a private PostgreSQL in a fresh temporary directory;
#   3. for each build: unit tests, fuzz corpus replays, integration tests;
#   4. prints every failure again and the final `N passed, N failed` line.
# Exits non-zero when anything failed.  Everything it starts (PostgreSQL, any
# regain the integration tests left behind) is stopped on every exit path.
#
# Environment:
#   REGAIN_TEST_BUILDS  builds to test (default "build build/asan")
#   REGAIN_TEST_ONLY    run only the integration files matching this glob
#   REGAIN_PG_SH        the PostgreSQL helper (default scripts/pg.sh)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

# shellcheck source=tests/run-unit.sh
. tests/run-unit.sh

PYTHON=/usr/bin/python3 # Debian's, whatever a pyenv shim says
export PYTHONDONTWRITEBYTECODE=1
PG_SH=${REGAIN_PG_SH:-$ROOT/scripts/pg.sh}
BUILDS=${REGAIN_TEST_BUILDS:-build build/asan}
ONLY=${REGAIN_TEST_ONLY:-*}

tap_init
PG_DIR=""
PIDS_FILE=$TAP_TMP/regain.pids
: >"$PIDS_FILE"

cleanup() {
    local pid
    # regain servers the harness recorded and did not stop (a test killed by
    # the timeout, or by us): by id, and only if it still is a regain.
    while read -r pid; do
        [ -n "$pid" ] || continue
        if grep -qa regain "/proc/$pid/cmdline" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done <"$PIDS_FILE"
    if [ -n "$PG_DIR" ]; then
        bash "$PG_SH" stop "$PG_DIR" >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
    rm -rf "$TAP_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
echo "== build"
if ! make -j2 all >"$TAP_TMP/make-all.log" 2>&1; then
    tail -n 40 "$TAP_TMP/make-all.log"
    printf 'fail\tmake all\n' >>"$RESULTS"
    echo "FAIL  make all"
    tap_summary
    exit 1
fi
if ! make -j2 asan >"$TAP_TMP/make-asan.log" 2>&1; then
    tail -n 40 "$TAP_TMP/make-asan.log"
    printf 'fail\tmake asan\n' >>"$RESULTS"
    echo "FAIL  make asan (the sanitizer build is skipped)"
    BUILDS=${BUILDS//build\/asan/}
fi
echo "   built in $((SECONDS - t0))s"

echo "== PostgreSQL"
if [ ! -f "$PG_SH" ]; then
    echo "FAIL  $PG_SH is missing: integration tests cannot run"
    printf 'fail\tpostgresql: %s missing\n' "${PG_SH#"$ROOT"/}" >>"$RESULTS"
else
    # World-traversable so the unprivileged server user reaches its socket.
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/regain-pg.XXXXXX")
    chmod 755 "$PG_DIR"
    if ! PG_FAST=1 bash "$PG_SH" start "$PG_DIR" >"$TAP_TMP/pg-start.log" 2>&1; then
        cat "$TAP_TMP/pg-start.log"
        echo "FAIL  PostgreSQL did not start: integration tests cannot run"
        printf 'fail\tpostgresql: start failed\n' >>"$RESULTS"
        rm -rf "$PG_DIR"
        PG_DIR=""
    else
        PG_URL_BASE=$(bash "$PG_SH" url "$PG_DIR" postgres)
        echo "   running (socket in a temporary directory)"
    fi
fi

for build in $BUILDS; do
    tag=$(basename "$build")
    [ "$tag" = build ] && tag=normal
    echo
    echo "== $tag build ($build)"
    if [ ! -x "$build/regain" ]; then
        printf 'fail\t[%s] %s/regain was not built\n' "$tag" "$build" >>"$RESULTS"
        echo "FAIL  $build/regain was not built"
        continue
    fi
    sanitizer_env "$build"
    run_unit_and_fuzz "$build" "$tag"

    [ -n "$PG_DIR" ] || continue
    for t in tests/integration/test_*.py; do
        [ -f "$t" ] || continue
        # shellcheck disable=SC2053
        [[ $(basename "$t") == $ONLY ]] || continue
        REGAIN_BIN=$ROOT/$build/regain \
            REGAIN_PG_DIR=$PG_DIR \
            REGAIN_PG_URL_BASE=$PG_URL_BASE \
            REGAIN_PG_SH=$PG_SH \
            REGAIN_PIDS_FILE=$PIDS_FILE \
            REGAIN_SANITIZED=$([ "$tag" = asan ] && echo 1 || echo 0) \
            tap_run "[$tag] $(basename "$t" .py)" 240 "$PYTHON" "$t"
    done
done

echo
echo "== done in $((SECONDS - t0))s"
tap_summary
