#!/usr/bin/env bash
# `make bench`: throughput and latency of regain against a bare h2o baseline.
#
# Builds build/regain and build/bench_hello (tests/bench/hello.c: h2o 2.2.5,
# same threads, same listener set-up, one fixed JSON answer), starts a private
# PostgreSQL and regain with a temporary config, then runs, at a fixed
# concurrency, on loopback only:
#   h2c  h2load -D $D -c 16 -m 10 -t 1 http://...   (HTTP/2 prior knowledge)
#   h2   h2load -D $D -c 16 -m 10 -t 1 https://...  (HTTP/2 over TLS, ALPN)
#   h1   wrk -t1 -c64 -d${D}s --latency http://...  (HTTP/1.1 keep-alive)
# against baseline /hello and regain's /.well-known/openid-configuration,
# /jwks.json and /readyz (one database query per request), every request
# offering gzip as relying parties' HTTP clients do, and, for information,
# regain's discovery document to a client offering no coding, and the
# baseline's /padded answering as many bytes.  Prints a table, the
# regain/baseline ratio per protocol against the 80% target, the uncoded
# discovery against the baseline and /padded, and regain's idle
# resident memory against the 20 MB target.  Then tests/bench/oidc.sh
# measures the OpenID Provider against the same regain (token endpoint,
# complete sign-in flows, Node's oidc-provider for comparison; see there).
# Stops everything it started.
#
# Then tests/bench/recovery.sh measures complete verified recoveries with the
# dev provider (attempt -> TAP -> first sign-in).
#
# Env: BENCH_PARTS which parts to run (default "http oidc scim recovery"),
# BENCH_ROUTE_ROUNDS rounds of the baseline and the in-memory routes per
# protocol (default 5), BENCH_ROUNDS runs of the code exchange (default 3),
# BENCH_FLOW_ROUNDS rounds of complete flows (default 5), BENCH_DURATION
# seconds per run (default 5), BENCH_ACCESS_LOG=0 turns regain's access log
# off (on by default, as deployed; it goes to a file here),
# BENCH_WORKER_HOLD_MS sets server.worker_hold_ms (default: regain's own; 0
# hands every finished hash back at once, for comparison).
#
# Client and server share the machine's cores, so figures are for comparing
# regain with the baseline on the same box, not absolute capacity.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

D=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
ROUTE_ROUNDS=${BENCH_ROUTE_ROUNDS:-5}
THREADS=2
TARGET_RATIO=80
TARGET_RSS_MB=20
ACCESS_LOG=$([ "${BENCH_ACCESS_LOG:-1}" = 0 ] && echo false || echo true)
PG_SH=${REGAIN_PG_SH:-$ROOT/scripts/pg.sh}
PYTHON=/usr/bin/python3

for tool in h2load wrk curl openssl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/regain-bench.XXXXXX")
chmod 711 "$T"
REGAIN_PID="" HELLO_PID="" OP_PID="" REC_PID="" PG_STARTED=0
cleanup() {
    for pid in $REGAIN_PID $HELLO_PID $OP_PID $REC_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $REGAIN_PID $HELLO_PID $OP_PID $REC_PID; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [ "$PG_STARTED" = 1 ] && bash "$PG_SH" stop "$T/pg" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_ports N: N different TCP ports that were free a moment ago, on one line
# (all stay bound until each is read: ports taken one by one may repeat).
free_ports() {
    "$PYTHON" -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

wait_http() { # URL -> 0 once it answers 200
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

echo "== build"
make -s -j2 all
# shellcheck disable=SC2046
cc -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DH2O_USE_LIBUV=0 \
    $(pkg-config --cflags libh2o-evloop openssl) tests/bench/hello.c -o build/bench_hello \
    $(pkg-config --libs libh2o-evloop openssl) -pthread

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1

echo "== start"
mkdir -p "$T/pg"
PG_FAST=1 bash "$PG_SH" start "$T/pg" >"$T/pg-start.log" 2>&1 || { cat "$T/pg-start.log"; exit 1; }
PG_STARTED=1
DB_URL=$(bash "$PG_SH" url "$T/pg" regain)

read -r B_PORT B_TLS R_PORT R_TLS < <(free_ports 4)
KEY=$(head -c 32 /dev/urandom | base64)
HOLD_JSON=""
[ -n "${BENCH_WORKER_HOLD_MS:-}" ] && HOLD_JSON=", \"worker_hold_ms\": $BENCH_WORKER_HOLD_MS"
cat >"$T/regain.json" <<EOF
{"issuer": "https://localhost:$R_TLS", "dev_mode": false,
 "database": {"url": "$DB_URL", "pool_size": ${BENCH_POOL_SIZE:-2}, "query_timeout_ms": 5000},
 "listen": [{"address": "127.0.0.1", "port": $R_TLS, "tls": {"certificate_file": "cert.pem", "key_file": "key.pem"}},
            {"address": "127.0.0.1", "port": $R_PORT}],
 "server": {"threads": $THREADS, "max_request_body_bytes": 1048576, "idle_timeout_ms": 10000,
            "max_streams_per_connection": 100, "shutdown_timeout_ms": 5000$HOLD_JSON},
 "keys": {"encryption_key": "$KEY", "refresh_interval_ms": 10000},
 "log": {"level": "info", "access_log": $ACCESS_LOG}}
EOF

build/regain migrate --config "$T/regain.json" >"$T/migrate.log" 2>&1 || { cat "$T/migrate.log"; exit 1; }
build/regain serve --config "$T/regain.json" </dev/null >"$T/regain.out" 2>"$T/regain.err" &
REGAIN_PID=$!
if ! wait_http "http://127.0.0.1:$R_PORT/healthz"; then
    echo "bench: regain did not become healthy:" >&2
    tail -n 20 "$T/regain.err" >&2
    exit 1
fi
# The baseline also serves /padded with as many bytes as regain's discovery
# document, shown for information beside the targets (see below).
DISC_BYTES=$(curl -s --max-time 5 "http://127.0.0.1:$R_PORT/.well-known/openid-configuration" | wc -c)
build/bench_hello "$B_PORT" "$B_TLS" "$T/cert.pem" "$T/key.pem" "$THREADS" "$DISC_BYTES" </dev/null >"$T/hello.out" 2>&1 &
HELLO_PID=$!
wait_http "http://127.0.0.1:$B_PORT/hello" || { echo "bench: bench_hello did not start" >&2; cat "$T/hello.out"; exit 1; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
sleep 0.5
REGAIN_RSS=$(rss_kb "$REGAIN_PID")
HELLO_RSS=$(rss_kb "$HELLO_PID")

# ---- measurements -----------------------------------------------------------
# Each run appends "name<TAB>proto<TAB>req/s<TAB>p50 ms<TAB>p99 ms<TAB>errors".
RESULTS=$T/results
: >"$RESULTS"

percentiles() { # FILE of latencies in microseconds -> "p50_ms p99_ms"
    sort -n "$1" | awk '{ v[NR] = $1 }
        END { if (NR == 0) { print "- -"; exit }
              i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
              i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
              printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'
}

# stat_ticks FILE: from one /proc/.../stat, the CPU time (user + system) in
# clock ticks into STAT_TICKS and the thread's name into STAT_COMM (globals:
# no subshell per thread); fails when the thread is gone.
stat_ticks() {
    local line
    read -r line <"$1" 2>/dev/null || return 1
    STAT_COMM=${line#*(}
    STAT_COMM=${STAT_COMM%%)*}
    line=${line##*) }
    # shellcheck disable=SC2086
    set -- $line
    STAT_TICKS=$((${12} + ${13}))
}
cpu_ticks() { # PID -> CPU time (user + system) of all its threads, in clock ticks
    local t=0 f
    for f in /proc/"$1"/task/*/stat; do
        stat_ticks "$f" && t=$((t + STAT_TICKS))
    done
    echo "$t"
}
TICK_HZ=$(getconf CLK_TCK)

# Who does the work in a run, printed beside its rate: the load tool's CPU
# time in % of one core (h2load -t 1 and wrk -t1 run one thread, so near
# 100% means the client, not the server, sets the rate) and the server's CPU
# time per request in microseconds (all its threads).
run_h2load() { # NAME PROTO URL SERVER_PID [HEADER]
    local name=$1 proto=$2 url=$3 spid=$4 out log
    local -a hdr=()
    [ -n "${5:-}" ] && hdr=(-H "$5")
    out=$T/h2load.out
    log=$T/h2load.log
    rm -f "$log"
    local s0 s1 tm
    s0=$(cpu_ticks "$spid")
    if ! tm=$( { TIMEFORMAT='%R %U %S'; time h2load -D "$D" -c 16 -m 10 -t 1 "${hdr[@]}" --log-file="$log" "$url" >"$out" 2>&1; } 2>&1 ); then
        printf '%s\t%s\t0\t-\t-\th2load failed\t-\t-\n' "$name" "$proto" >>"$RESULTS"
        return
    fi
    s1=$(cpu_ticks "$spid")
    local rps bad p done_n
    rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^req\/s/) { v = $(i - 1); gsub(/,/, "", v); print v } }' "$out")
    done_n=$(awk '/^requests:/ { print $8 }' "$out")
    # non-2xx answers and failed/errored requests both count as errors
    bad=$(awk '/^status codes:/ { n = $5 + $7 + $9 }
               /^requests:/ { f = $10 + $12 }
               END { print n + f }' "$out")
    # --log-file lines: start time, status, duration (microseconds)
    awk -F'\t' '{ print $3 }' "$log" >"$log.lat"
    p=$(percentiles "$log.lat")
    printf '%s\t%s\t%.0f\t%s\t%s\t%s\t%s\n' "$name" "$proto" "${rps:-0}" "${p% *}" "${p#* }" "${bad:-?}" \
        "$(work_split "$tm" "$((s1 - s0))" "${done_n:-0}")" >>"$RESULTS"
}

work_split() { # "REAL USER SYS" of the load tool, server ticks, requests -> "client%<TAB>server us/req"
    awk -v tm="$1" -v ticks="$2" -v n="$3" -v hz="$TICK_HZ" 'BEGIN {
        split(tm, t, " ")
        client = t[1] > 0 ? 100 * (t[2] + t[3]) / t[1] : 0
        if (n > 0) printf "%.0f\t%.1f", client, 1e6 * ticks / hz / n
        else printf "%.0f\t-", client }'
}

to_ms() { # "1.23ms" / "456.78us" / "1.02s" -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else print "-" }'
}

run_wrk() { # NAME URL SERVER_PID [HEADER]
    local name=$1 url=$2 spid=$3 out
    local -a hdr=()
    [ -n "${4:-}" ] && hdr=(-H "$4")
    out=$T/wrk.out
    local s0 s1 tm
    s0=$(cpu_ticks "$spid")
    if ! tm=$( { TIMEFORMAT='%R %U %S'; time wrk -t1 -c64 -d"${D}s" --latency "${hdr[@]}" "$url" >"$out" 2>&1; } 2>&1 ); then
        printf '%s\th1\t0\t-\t-\twrk failed\t-\t-\n' "$name" >>"$RESULTS"
        return
    fi
    s1=$(cpu_ticks "$spid")
    local rps p50 p99 bad done_n
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    done_n=$(awk '/ requests in / { print $1 }' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
    printf '%s\th1\t%.0f\t%s\t%s\t%s\t%s\n' "$name" "${rps:-0}" "$p50" "$p99" "$bad" \
        "$(work_split "$tm" "$((s1 - s0))" "${done_n:-0}")" >>"$RESULTS"
}

# Every request offers the content codings a relying party's HTTP client
# offers (Node's fetch, Python's requests and browsers all offer gzip), so
# regain sends its static documents gzipped, as it does to them; the bare
# baseline sends its 36 bytes as they are.
ACCEPT_ENCODING="accept-encoding: gzip, deflate, br"
TARGETS=(
    "baseline /hello|$B_PORT|$B_TLS|/hello|$ACCEPT_ENCODING"
    "regain /.well-known/openid-configuration|$R_PORT|$R_TLS|/.well-known/openid-configuration|$ACCEPT_ENCODING"
    "regain /jwks.json|$R_PORT|$R_TLS|/jwks.json|$ACCEPT_ENCODING"
    "regain /readyz (db query)|$R_PORT|$R_TLS|/readyz|$ACCEPT_ENCODING"
)
# Information, not targets: regain's discovery document to a client that
# offers no coding (all ${DISC_BYTES} bytes), and the baseline sending as many
# bytes, so the cost of the bytes themselves (TLS records, copies, the
# client's parsing: /hello is 36 bytes) shows apart from regain's own.
IDENTITY="discovery, no Accept-Encoding|$R_PORT|$R_TLS|/.well-known/openid-configuration|"
SAME_BYTES="same bytes: h2o /padded (${DISC_BYTES} B)|$B_PORT|$B_TLS|/padded|"
declare -A SKIP=()
for t in "${TARGETS[@]}" "$IDENTITY" "$SAME_BYTES"; do
    IFS='|' read -r name port tls path _ <<<"$t"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port$path" || true)
    if [ "$code" != 200 ]; then
        SKIP[$name]=$code
        echo "   $name answers $code: not measured"
    fi
done

measure() { # PROTO NAME PORT TLS PATH HEADER
    local proto=$1 name=$2 port=$3 tls=$4 path=$5 hdr=$6 spid=$HELLO_PID
    if [ -n "${SKIP[$name]:-}" ]; then
        printf '%s\t%s\t0\t-\t-\tanswers %s\t-\t-\n' "$name" "$proto" "${SKIP[$name]}" >>"$RESULTS"
        return
    fi
    case $name in regain* | discovery*) spid=$REGAIN_PID ;; esac
    case $proto in
    h2c) run_h2load "$name" h2c "http://127.0.0.1:$port$path" "$spid" "$hdr" ;;
    h2) run_h2load "$name" h2 "https://127.0.0.1:$tls$path" "$spid" "$hdr" ;;
    h1) run_wrk "$name" "http://127.0.0.1:$port$path" "$spid" "$hdr" ;;
    esac
}

want() { case " ${BENCH_PARTS:-http oidc scim recovery} " in *" $1 "*) return 0 ;; esac; return 1; }

if want http; then
# The machine is shared and its speed drifts by 10-20% within minutes: per
# protocol, ROUTE_ROUNDS rounds of the baseline and regain's two in-memory
# routes, with one more baseline at the end, so that each regain run has a
# baseline run right before and right after it. Each run's ratio is to the
# mean of those two; the ratio reported is the median over the rounds. Five
# rounds, not three: in seven runs of the same code on one evening, the
# median of three put HTTP/1.1 discovery anywhere from 74% to 94% of the
# baseline.
echo "== measure (${D}s per run, ${ROUTE_ROUNDS} rounds, h2load -c 16 -m 10 -t 1, wrk -t1 -c64)"
for proto in h2c h2 h1; do
    echo "   $proto"
    for _ in $(seq "$ROUTE_ROUNDS"); do
        for t in "${TARGETS[0]}" "${TARGETS[1]}" "${TARGETS[2]}"; do
            IFS='|' read -r name port tls path hdr <<<"$t"
            measure "$proto" "$name" "$port" "$tls" "$path" "$hdr"
        done
    done
    for t in "${TARGETS[0]}" "${TARGETS[3]}" "$IDENTITY" "$SAME_BYTES"; do
        IFS='|' read -r name port tls path hdr <<<"$t"
        measure "$proto" "$name" "$port" "$tls" "$path" "$hdr"
    done
done
kill -0 "$REGAIN_PID" 2>/dev/null || { echo "bench: regain died during the run:" >&2; tail -n 20 "$T/regain.err" >&2; }

# ---- report -----------------------------------------------------------------
echo
printf '%-42s %-5s %10s %9s %9s  %-6s  %9s %11s\n' "route" "proto" "req/s" "p50 ms" "p99 ms" "errors" "client %" "server us"
printf '%-42s %-5s %10s %9s %9s  %-6s  %9s %11s\n' "-----" "-----" "-----" "------" "------" "------" "--------" "---------"
awk -F'\t' '{ printf "%-42s %-5s %10s %9s %9s  %-6s  %9s %11s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RESULTS"
echo "(client %: CPU time of the one-thread load tool in % of one core, near 100 when it sets the rate;"
echo " server us: CPU time of the server's threads per request)"

echo
echo "regain / baseline: each run against the mean of the baseline runs right before and after it, median over the rounds"
echo "(target >= ${TARGET_RATIO}% for the in-memory routes; /readyz is bound by PostgreSQL, shown for scale)"
awk -F'\t' -v target="$TARGET_RATIO" '
    { n++; name[n] = $1; proto[n] = $2; rps[n] = $3 + 0 }
    function baseline(i, step,   j) {
        for (j = i + step; j >= 1 && j <= n; j += step)
            if (proto[j] == proto[i] && name[j] ~ /^baseline/) return rps[j]
        return 0
    }
    function median(key,   k, i, j, v, t, c) {
        c = cnt[key]
        for (i = 1; i <= c; i++) v[i] = ratio[key, i]
        for (i = 2; i <= c; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
    }
    END {
        for (i = 1; i <= n; i++) {
            if (name[i] ~ /^baseline/) continue
            before = baseline(i, -1); after = baseline(i, 1)
            b = before > 0 && after > 0 ? (before + after) / 2 : before + after
            key = proto[i] SUBSEP name[i]
            if (!(key in seen)) { seen[key] = 1; order[++m] = key }
            last[key] = rps[i]
            if (b > 0 && rps[i] > 0) { cnt[key]++; ratio[key, cnt[key]] = 100 * rps[i] / b; lastb[key] = b }
        }
        met = 0; total = 0
        for (k = 1; k <= m; k++) {
            split(order[k], f, SUBSEP)
            if (f[2] ~ /^(same bytes|discovery, no)/) continue
            info = f[2] ~ /readyz/
            if (!info) total++
            if (cnt[order[k]] == 0) { printf "  %-5s %-42s    n/a\n", f[1], f[2]; continue }
            r = median(order[k])
            if (info) verdict = "(info)"
            else if (r >= target) { met++; verdict = "meets target" }
            else verdict = "BELOW target"
            printf "  %-5s %-42s %5.1f%%  %s  (%d run%s)\n", f[1], f[2], r, verdict, cnt[order[k]],
                cnt[order[k]] == 1 ? "" : "s"
        }
        printf "  %d of %d in-memory measurements meet the %d%% target\n", met, total, target
        printf "discovery without Accept-Encoding (the whole document): / the baseline, / bare h2o answering as many bytes (/padded); information, not targets\n"
        split("h2c h2 h1", protos, " ")
        for (i = 1; i <= 3; i++) {
            p = protos[i]
            d = p SUBSEP "discovery, no Accept-Encoding"
            for (k = 1; k <= m; k++) if (order[k] ~ ("^" p SUBSEP "same bytes")) sb = order[k]
            if (last[sb] > 0 && last[d] > 0 && lastb[d] > 0)
                printf "  %-5s %5.1f%%  %5.1f%%   [%s req/s; /padded %s req/s, /hello %.0f req/s]\n", p,
                    100 * last[d] / lastb[d], 100 * last[d] / last[sb], last[d], last[sb], lastb[d]
        }
    }' "$RESULTS"

echo
awk -v r="$REGAIN_RSS" -v h="$HELLO_RSS" -v t="$TARGET_RSS_MB" 'BEGIN {
    printf "regain idle RSS: %.1f MB (target <= %d MB): %s   [baseline bench_hello: %.1f MB]\n",
        r / 1024, t, (r / 1024 <= t ? "meets target" : "ABOVE target"), h / 1024 }'
printf 'regain after load RSS: %.1f MB\n' "$(awk -v r="$(rss_kb "$REGAIN_PID")" 'BEGIN { print r / 1024 }')"
fi

if want oidc; then
    # shellcheck source=tests/bench/oidc.sh
    . tests/bench/oidc.sh
fi

if want scim; then
    # shellcheck source=tests/bench/scim.sh
    . tests/bench/scim.sh
fi

if want recovery; then
    # shellcheck source=tests/bench/recovery.sh
    . tests/bench/recovery.sh
fi
