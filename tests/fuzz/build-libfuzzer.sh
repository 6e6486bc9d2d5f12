#!/usr/bin/env bash
# Build every fuzz target in tests/fuzz/ with libFuzzer (+ ASan, UBSan) and run
# each for SECONDS (default 60), starting from a copy of its seed corpus.
#
#   tests/fuzz/build-libfuzzer.sh [SECONDS] [TARGET...]     (run from the repo root)
#
# Needs clang and compiler-rt's libFuzzer: on Debian 12, packages clang and
# libclang-rt-14-dev. New corpus entries go to build/fuzz/corpus/TARGET, crash
# inputs to build/fuzz/artifacts/; copy a crash into tests/fuzz/corpus/TARGET/
# once fixed so the normal test run replays it. Prints a TAP line per target
# (tests/run.sh runs every target briefly, so that this build cannot rot
# unseen) and exits non-zero on a finding or a target that does not build.
# FUZZ_RUNS=N runs N inputs per target instead of SECONDS; FUZZ_SEED=N fixes
# the seed.
set -euo pipefail

SECONDS_PER_TARGET=${1:-60}
shift || true
CLANG=${CLANG:-clang}
OUT=${FUZZ_BUILD:-build/fuzz}
# The libraries regain links, as the Makefile names them: a list of our own
# here drifted from it once (zlib), and every target then failed to link.
PKGS=${FUZZ_PKGS:-$(sed -n 's/^PKGS *:= *//p' Makefile)}
EXTRA_LIBS=${FUZZ_EXTRA_LIBS:-$(sed -n 's/^EXTRA_LIBS *:= *//p' Makefile)}
if [ -z "$PKGS" ] || [ -z "$EXTRA_LIBS" ]; then
    echo "build-libfuzzer: no PKGS or EXTRA_LIBS in ./Makefile (run from the repo root)" >&2
    exit 2
fi

if ! command -v "$CLANG" >/dev/null; then
    echo "build-libfuzzer: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -I. $(pkg-config --cflags $PKGS) \
  -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -O1 -g -fno-omit-frame-pointer $SAN"
LIBS="$(pkg-config --libs $PKGS) $EXTRA_LIBS"

mkdir -p "$OUT/obj" "$OUT/artifacts"

# The library, instrumented for coverage. An archive, so a target links only
# the objects it uses.
objs=()
for src in gateway/*.c oidc/*.c scim/*.c methods/*.c providers/*.c recovery/*.c; do
    [ -e "$src" ] || continue
    [ "$src" = gateway/main.c ] && continue
    obj="$OUT/obj/${src//\//_}.o"
    "$CLANG" $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    objs+=("$obj")
done
rm -f "$OUT/libregain-fuzz.a"
ar rcs "$OUT/libregain-fuzz.a" "${objs[@]}"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in tests/fuzz/*.c; do
        name=$(basename "$src" .c)
        [ "$name" = replay_main ] || targets+=("$name")
    done
fi

status=0
for name in "${targets[@]}"; do
    if ! "$CLANG" $CFLAGS -fsanitize=fuzzer "tests/fuzz/$name.c" "$OUT/libregain-fuzz.a" $LIBS -o "$OUT/$name"; then
        echo "not ok - $name: does not build with libFuzzer"
        status=1
        continue
    fi
    mkdir -p "$OUT/corpus/$name"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -n "tests/fuzz/corpus/$name"/* "$OUT/corpus/$name/" 2>/dev/null || true
    fi
    echo "== $name: ${SECONDS_PER_TARGET}s"
    # FUZZ_SEED and FUZZ_RUNS (instead of SECONDS) make the run the same
    # every time, as tests/run.sh wants it: a finding there is a change's.
    budget=(-max_total_time="$SECONDS_PER_TARGET") what="${SECONDS_PER_TARGET}s"
    [ -n "${FUZZ_RUNS:-}" ] && budget=(-runs="$FUZZ_RUNS") what="$FUZZ_RUNS inputs"
    if ! "$OUT/$name" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} "${budget[@]}" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name-" "$OUT/corpus/$name"; then
        echo "not ok - $name: libFuzzer found a problem in $what; see $OUT/artifacts/"
        status=1
    else
        echo "ok - $name: built with libFuzzer, ran $what without a finding"
    fi
done
exit $status
