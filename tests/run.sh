#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`):
#   1. checks the runner itself (tests/run-selftest.sh), builds the normal and
#      the sanitizer (ASan + UBSan) builds;
#   2. starts a private PostgreSQL in a fresh temporary directory;
#   3. for each build: unit tests, fuzz corpus replays, integration tests,
#      interop tests (tests/interop: openid-client + jose on Node, authlib),
#      browser tests (tests/browser: headless Chromium, playwright-core);
#   4. prints every failure again and the final `N passed, N failed` line.
# Exits non-zero when anything failed.  Everything it starts (PostgreSQL, any
# regain the integration tests left behind) is stopped on every exit path.
#
# Environment:
#   REGAIN_TEST_BUILDS  builds to test (default "build build/asan")
#   REGAIN_TEST_ONLY    run only the integration and interop files matching this glob
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
    # destroy, not stop and rm: when pg.sh relocated the cluster (TMPDIR
    # unreachable by the postgres user, or with spaces), PG_DIR holds only a
    # symlink to it.
    if [ -n "$PG_DIR" ]; then
        bash "$PG_SH" destroy "$PG_DIR" >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
    rm -rf "$TAP_TMP"
}
# Ctrl-C or SIGTERM: stop the running step with its process group, then the rest.
tap_traps cleanup

t0=$SECONDS
# The runner's own behaviour first: Ctrl-C stops the suite and what it started.
echo "== runner self-test"
tap_run "runner: Ctrl-C" 60 bash tests/run-selftest.sh

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

# The libFuzzer build of every fuzz target (`make fuzz`), with a short run of
# each that is the same every time (seed and count fixed): nothing else
# builds it, and it once stopped linking unnoticed.
echo "== libFuzzer"
FUZZ_BUILD=$TAP_TMP/fuzz FUZZ_SEED=1 FUZZ_RUNS=20000 tap_run "libfuzzer" 600 bash tests/fuzz/build-libfuzzer.sh

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
        bash "$PG_SH" destroy "$PG_DIR" >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
        PG_DIR=""
    else
        PG_URL_BASE=$(bash "$PG_SH" url "$PG_DIR" postgres)
        echo "   running (socket in a temporary directory)"
    fi
fi

# The interop tests' npm packages (package-lock.json pins them) go into
# tests/interop/node_modules on first use; later runs work offline.
INTEROP_NODE=0 NODE_FLAGS=
# npm_ci_once DIR KIND WHAT: install DIR's pinned packages unless
# node_modules already matches package-lock.json; on failure records a failed
# KIND result (WHAT skipped) and returns 1.
npm_ci_once() {
    local dir=$1 kind=$2 what=$3 log=$TAP_TMP/npm-ci-$2.log
    [ -f "$dir/node_modules/.package-lock.json" ] &&
        [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ] && return 0
    echo "   npm ci in $dir (once; needs the npm registry)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1 && return 0
    tail -n 20 "$log"
    echo "FAIL  npm ci in $dir: $what skipped"
    printf 'fail\t%s: npm ci failed (offline on first use?)\n' "$kind" >>"$RESULTS"
    return 1
}
interop_prepare() {
    local dir=tests/interop
    [ -f "$dir/package-lock.json" ] || return 0
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "FAIL  node or npm is missing (scripts/deps.sh installs them): Node interop tests skipped"
        printf 'fail\tinterop: node or npm missing\n' >>"$RESULTS"
        return 0
    fi
    npm_ci_once "$dir" interop "Node interop tests" || return 0
    # Debian 12's own nodejs is 18, where Web Crypto (openid-client, jose)
    # is not global yet.
    [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ] && NODE_FLAGS=--experimental-global-webcrypto
    INTEROP_NODE=1
}
[ -n "$PG_DIR" ] && interop_prepare

# Browser tests (tests/browser): playwright-core from npm drives Debian's
# chromium (scripts/deps.sh installs it); npm ci once, like the interop tests.
BROWSER_NODE=0
browser_prepare() {
    local dir=tests/browser
    [ -f "$dir/package-lock.json" ] || return 0
    if [ "$INTEROP_NODE" != 1 ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
        echo "FAIL  node, npm or chromium is missing (scripts/deps.sh installs them): browser tests skipped"
        printf 'fail\tbrowser: node, npm or chromium missing\n' >>"$RESULTS"
        return 0
    fi
    npm_ci_once "$dir" browser "browser tests" || return 0
    BROWSER_NODE=1
}
[ -n "$PG_DIR" ] && browser_prepare

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

    # Interop: real relying-party libraries against this build, same set-up.
    for t in tests/interop/*.test.mjs tests/interop/*_flow.py; do
        [ -f "$t" ] || continue
        # shellcheck disable=SC2053
        [[ $(basename "$t") == $ONLY ]] || continue
        name=$(basename "$t")
        case $t in
        *.mjs)
            [ "$INTEROP_NODE" = 1 ] || continue
            # shellcheck disable=SC2086 # empty or one flag
            set -- node $NODE_FLAGS "$t"
            ;;
        *) set -- "$PYTHON" "$t" ;;
        esac
        REGAIN_BIN=$ROOT/$build/regain \
            REGAIN_PG_DIR=$PG_DIR \
            REGAIN_PG_URL_BASE=$PG_URL_BASE \
            REGAIN_PG_SH=$PG_SH \
            REGAIN_PIDS_FILE=$PIDS_FILE \
            REGAIN_SANITIZED=$([ "$tag" = asan ] && echo 1 || echo 0) \
            tap_run "[$tag] interop ${name%%.*}" 240 "$@"
    done

    # Browser: headless Chromium against this build; screenshots go to
    # build/test-artifacts/browser/.
    for t in tests/browser/*.test.mjs; do
        [ -f "$t" ] && [ "$BROWSER_NODE" = 1 ] || continue
        # shellcheck disable=SC2053
        [[ $(basename "$t") == $ONLY ]] || continue
        name=$(basename "$t")
        REGAIN_BIN=$ROOT/$build/regain \
            REGAIN_PG_DIR=$PG_DIR \
            REGAIN_PG_URL_BASE=$PG_URL_BASE \
            REGAIN_PG_SH=$PG_SH \
            REGAIN_PIDS_FILE=$PIDS_FILE \
            REGAIN_SANITIZED=$([ "$tag" = asan ] && echo 1 || echo 0) \
            REGAIN_ARTIFACTS=$ROOT/build/test-artifacts/browser/$tag \
            tap_run "[$tag] browser ${name%%.*}" 300 node $NODE_FLAGS "$t"
    done
done

echo
echo "== done in $((SECONDS - t0))s"
tap_summary
