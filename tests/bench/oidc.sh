# shellcheck shell=bash
# `make bench`, part 2: the OpenID Provider.  Sourced by tests/bench/run.sh
# once its own report is printed, with its regain still running; uses its T,
# ROOT, D, PYTHON, DB_URL, KEY, R_PORT, R_TLS, REGAIN_PID and registers
# OP_PID for its cleanup.  Measures, at one fixed concurrency (16):
#   client_credentials   POST /token, client_secret_basic, ES256 at+jwt:
#                        wrk -t1 -c16 (HTTP/1.1 cleartext), h2load -c16 -m10
#                        over h2c and h2 (TLS)
#   code exchange        ROUNDS runs of POST /token with codes minted in advance (rows
#                        inserted with psql, hashed as gateway/secrets.c
#                        does), PKCE S256, client_secret_basic, scope
#                        "openid profile": ID token + access token
#   complete flows       tests/bench/flows.c: fresh browsers doing
#                        /authorize -> sign-in page -> POST /login (Argon2id;
#                        answers with the code) -> /token, 16 at a time,
#                        HTTP/1.1 over TLS; the steady state's rate, without
#                        the driver's start and stop (flows.c says why)
#   oidc-provider        Node's oidc-provider v9 (tests/interop/
#                        bench_oidc_provider.mjs), client_credentials with
#                        the same wrk -t1 -c16 over HTTP/1.1 cleartext
# with, for each of the last two, where the CPU went (regain's password
# workers, its other threads, PostgreSQL, the load tool) per exchange and per
# flow, and the password-hash ceiling: cores / the median time of one
# Argon2id hash at the configured cost while every core hashes (the smaller
# of its CPU and wall-clock times, tests/bench/argon2_time.c), measured
# between BENCH_FLOW_ROUNDS (5) rounds of flows, with the time of one hash
# alone beside it.  Prints the figures,
# the ratios and the targets: client_credentials >= 5x oidc-provider, code
# exchange >= 10,000/s, complete flows >= 90% of the hash ceiling.

OIDC_C=16
OIDC_CODES=${BENCH_CODES:-$((200000 * ROUNDS))} # 200,000 per run of the exchange (5 s at 40,000/s)
INTEROP=$ROOT/tests/interop
CFG=$T/regain.json
OREDIRECT=https://rp.bench.example/cb
OUSER=bench
OPASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
OVERIFIER=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
OCHALLENGE=$(printf '%s' "$OVERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
ORES=$T/oidc-results
: >"$ORES"

echo
echo "== OpenID Provider (concurrency $OIDC_C, ${D}s per run)"

have_node=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "   node/npm missing (scripts/deps.sh installs them): no oidc-provider"
    have_node=0
elif [ ! -f "$INTEROP/node_modules/.package-lock.json" ] ||
    [ "$INTEROP/package-lock.json" -nt "$INTEROP/node_modules/.package-lock.json" ]; then
    echo "   npm ci in tests/interop"
    (cd "$INTEROP" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm-ci.log" 2>&1 ||
        { tail -n 5 "$T/npm-ci.log"; echo "   npm ci failed: no oidc-provider"; have_node=0; }
fi

# ---- fixtures, through the CLI ------------------------------------------------
CC_SECRET=$(build/regain client add --id bench-cc --grant-types client_credentials --scopes admin \
    --auth-method client_secret_basic --json --config "$CFG" | jq -r .client_secret)
WEB_SECRET=$(build/regain client add --id bench-web --redirect-uri "$OREDIRECT" --grant-types authorization_code \
    --scopes "openid profile" --auth-method client_secret_basic --json --config "$CFG" | jq -r .client_secret)
# One account per concurrent browser (tests/bench/flows.c says why).
for i in $(seq 0 $((OIDC_C - 1))); do
    id=$(printf '%s\n' "$OPASSWORD" | build/regain user add --username "$OUSER$i" --given-name Bench \
        --family-name "User $i" --password-stdin --config "$CFG")
    [ "$i" = 0 ] && OUSER_ID=$id
done
CC_BASIC=$(printf 'bench-cc:%s' "$CC_SECRET" | base64 -w0)
WEB_BASIC=$(printf 'bench-web:%s' "$WEB_SECRET" | base64 -w0)

# Codes minted in advance: one session, OIDC_CODES rows whose code_hash is
# HMAC-SHA-256(HMAC-SHA-256(kek, "regain/secret-hash/v1"), code).
SESSION_ID=$(psql -X -q -A -t -v ON_ERROR_STOP=1 "$DB_URL" -c "INSERT INTO sessions (token_hash, user_id, auth_time,
    amr, acr, expires_at) VALUES (decode(md5(random()::text) || md5(random()::text), 'hex'), '$OUSER_ID', now(),
    '{pwd}', 'urn:regain:acr:password', now() + interval '1 hour') RETURNING id" | head -n 1)
"$PYTHON" - "$KEY" "$OIDC_CODES" "$T/codes.txt" "$T/codes.copy" <<'EOF'
import base64, hashlib, hmac, os, sys
kek, n, codes_path, copy_path = base64.b64decode(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
key = hmac.new(kek, b"regain/secret-hash/v1", hashlib.sha256).digest()
with open(codes_path, "w") as codes, open(copy_path, "w") as copy:
    for _ in range(n):
        code = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        codes.write(code + "\n")
        copy.write("\\\\x%s\n" % hmac.new(key, code.encode(), hashlib.sha256).hexdigest())
EOF
psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" >"$T/codes.log" 2>&1 <<EOF || { cat "$T/codes.log"; echo "   minting codes failed"; }
CREATE TEMP TABLE bench_codes (code_hash bytea);
\copy bench_codes FROM '$T/codes.copy'
INSERT INTO authorization_codes (code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce,
    code_challenge, auth_time, acr, amr, expires_at)
SELECT code_hash, 'bench-web', '$OUSER_ID', '$SESSION_ID', '$OREDIRECT', 'openid profile', 'n-bench',
    '$OCHALLENGE', now(), 'urn:regain:acr:password', '{pwd}', now() + interval '30 minutes' FROM bench_codes;
EOF

# ---- load generators --------------------------------------------------------------
cat >"$T/cc.lua" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=admin"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $CC_BASIC"
EOF
cat >"$T/code.lua" <<EOF
local codes, i = {}, 0
init = function(args)
    for line in io.lines(args[1]) do codes[#codes + 1] = line end
end
request = function()
    i = i + 1
    return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded",
        ["Authorization"] = "Basic $WEB_BASIC"}, "grant_type=authorization_code&code=" .. (codes[i] or "none") ..
        "&redirect_uri=$(printf '%s' "$OREDIRECT" | jq -sRr @uri)&code_verifier=$OVERIFIER")
end
EOF
printf 'grant_type=client_credentials&scope=admin' >"$T/cc.body"

# Where the CPU of a run goes, on these shared cores: regain's password
# workers, regain's other threads (the event loops), and every PostgreSQL
# process, in clock ticks ("workers loops postgres"). Read before and after
# the code exchange and the complete flows, and printed per exchange and per
# flow beside the targets; the load tool's own time is measured with `time`.
PG_POSTMASTER=$(head -n 1 "$(psql -X -A -t "$DB_URL" -c 'SHOW data_directory')/postmaster.pid" 2>/dev/null || true)
cpu_split() {
    local w=0 l=0 p=0 f pid
    for f in /proc/"$REGAIN_PID"/task/*/stat; do
        stat_ticks "$f" || continue
        if [ "$STAT_COMM" = regain-worker ]; then w=$((w + STAT_TICKS)); else l=$((l + STAT_TICKS)); fi
    done
    if [ -n "$PG_POSTMASTER" ]; then
        for pid in "$PG_POSTMASTER" $(pgrep -P "$PG_POSTMASTER"); do
            stat_ticks "/proc/$pid/stat" && p=$((p + STAT_TICKS))
        done
    fi
    echo "$w $l $p"
}
# split_per BEFORE AFTER TOOL_SECONDS N UNIT_US -> "workers loops postgres tool" per item, in UNIT_US
split_per() {
    awk -v a="$1" -v b="$2" -v tool="$3" -v n="$4" -v unit="$5" -v hz="$TICK_HZ" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        if (n + 0 <= 0) { print "- - - -"; exit }
        f = 1e6 / hz / n / unit
        printf "%.2f %.2f %.2f %.2f\n", (y[1] - x[1]) * f, (y[2] - x[2]) * f, (y[3] - x[3]) * f, tool * 1e6 / n / unit
    }'
}

# oidc_wrk NAME URL SCRIPT [ARGS...]: one wrk run, a line in ORES, whose
# eighth column (not printed) is the CPU seconds wrk used (user + system).
# The rate counts successful answers only: a refused request (a code run
# out, a server error) is cheaper than a real one and must not lift it.
oidc_wrk() {
    local name=$1 url=$2 script=$3 out=$T/owrk.out tm
    shift 3
    if ! tm=$( { TIMEFORMAT='%U %S'; time wrk -t1 -c"$OIDC_C" -d"${D}s" --latency -s "$script" "$url" -- "$@" >"$out" 2>&1; } 2>&1 ); then
        printf '%s\th1\t0\t-\t-\twrk failed\t0\t-\n' "$name" >>"$ORES"
        return
    fi
    local rps p50 p99 bad n
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
    n=$(awk '/requests in/ { print $1 }' "$out")
    rps=$(awk -v r="${rps:-0}" -v n="${n:-0}" -v b="$bad" 'BEGIN { print (n > 0 ? r * (n - b) / n : 0) }')
    printf '%s\th1\t%.0f\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "$bad" "${n:-0}" \
        "$(echo "$tm" | awk '{ print $1 + $2 }')" >>"$ORES"
}

# oidc_h2load NAME PROTO URL: POST cc.body with client_secret_basic.
oidc_h2load() {
    local name=$1 proto=$2 url=$3 out=$T/oh2.out log=$T/oh2.log
    rm -f "$log"
    if ! h2load -D "$D" -c "$OIDC_C" -m 10 -t 1 -d "$T/cc.body" -H "content-type: application/x-www-form-urlencoded" \
        -H "authorization: Basic $CC_BASIC" --log-file="$log" "$url" >"$out" 2>&1; then
        printf '%s\t%s\t0\t-\t-\th2load failed\t0\n' "$name" "$proto" >>"$ORES"
        return
    fi
    local rps bad p
    rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^req\/s/) { v = $(i - 1); gsub(/,/, "", v); print v } }' "$out")
    bad=$(awk '/^status codes:/ { n = $5 + $7 + $9 } /^requests:/ { f = $10 + $12 } END { print n + f }' "$out")
    awk -F'\t' '{ print $3 }' "$log" >"$log.lat"
    p=$(percentiles "$log.lat")
    printf '%s\t%s\t%.0f\t%s\t%s\t%s\t-\n' "$name" "$proto" "${rps:-0}" "${p% *}" "${p#* }" "${bad:-?}" >>"$ORES"
}

code=$(curl -s -o /dev/null -w '%{http_code}' -u "bench-cc:$CC_SECRET" -d grant_type=client_credentials -d scope=admin \
    "http://127.0.0.1:$R_PORT/token" || true)
[ "$code" = 200 ] || echo "   warning: regain's client_credentials answers $code"

echo "   regain client_credentials"
oidc_wrk "regain client_credentials" "http://127.0.0.1:$R_PORT/token" "$T/cc.lua"
oidc_h2load "regain client_credentials" h2c "http://127.0.0.1:$R_PORT/token"
oidc_h2load "regain client_credentials" h2 "https://127.0.0.1:$R_TLS/token"
# The exchange runs ROUNDS times, each on its own share of the codes, and
# the target is judged on the median run: this shared VM's speed drifts by
# 10% and more from one minute to the next.
echo "   regain code exchange, $ROUNDS runs"
split -n "l/$ROUNDS" -d -a 2 "$T/codes.txt" "$T/codes.part."
CE_CPU0=$(cpu_split)
for part in "$T"/codes.part.*; do
    oidc_wrk "regain code exchange" "http://127.0.0.1:$R_PORT/token" "$T/code.lua" "$part"
done
CE_SPLIT=$(split_per "$CE_CPU0" "$(cpu_split)" \
    "$(awk -F'\t' '$1 == "regain code exchange" { s += $8 } END { print s }' "$ORES")" \
    "$(awk -F'\t' '$1 == "regain code exchange" { s += $7 - $6 } END { print s }' "$ORES")" 1)

# The exchange left a dead row version behind for every code it took.
# Autovacuum would clear them within the next minute or two, in the middle of
# the complete flows, and its CPU would count against them; they are cleared
# here instead, uncounted, as between one busy hour and the next. Only that
# table: the others are still empty, and statistics saying so would give the
# flows plans for empty tables, which no deployment has.
psql -X -q "$DB_URL" -c "VACUUM (ANALYZE) authorization_codes" >"$T/vacuum.log" 2>&1 || cat "$T/vacuum.log"

FLOW_ROUNDS=${BENCH_FLOW_ROUNDS:-5}
echo "   regain complete flows (sign-in with Argon2id), $FLOW_ROUNDS rounds between hash-ceiling measurements"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE tests/bench/flows.c -o build/bench_flows -lssl -lcrypto -pthread
make -s build/bench_argon2_time
A_T=$(jq -r '.oidc.argon2_t // 2' "$CFG")
A_M=$(jq -r '.oidc.argon2_m_kib // 19456' "$CFG")
A_P=$(jq -r '.oidc.argon2_p // 1' "$CFG")
CORES=$(nproc)
# The password-hash ceiling is what this machine does when it does nothing
# but hash: one hash on every core at once, as regain's workers hash under
# load (tests/bench/argon2_time.c). Each hash is timed twice, in two runs
# one after the other: by the wall clock, which also counts the time a
# hashing thread waits while anything else on this VM runs (a kernel
# thread, a neighbour), and by the thread's CPU clock, which in this VM
# also counts the moments the host takes the core away. Either can only
# overstate what a hash costs, and each did: once, three rounds in a row
# measured 21-22 ms on the wall clock for a hash that took the flows'
# workers 17.9 ms of CPU, and the median round read 103%; another time the
# CPU clock read 21 ms against the wall clock's 18. So the ceiling takes
# the smaller of the two. Measured before and after every round of flows,
# because this shared VM's speed drifts within minutes; each round is judged
# against the mean of its two neighbours, and the target against the median
# round. The time of one hash alone is measured beside it, for comparison.
hash_all() { build/bench_argon2_time "$A_T" "$A_M" "$A_P" 40 "$CORES" cpu; }
hash_all_wall() { build/bench_argon2_time "$A_T" "$A_M" "$A_P" 40 "$CORES"; }
hash_one() { build/bench_argon2_time "$A_T" "$A_M" "$A_P" 20; }
# "hash_one_ms<TAB>hash_all_cpu_ms<TAB>hash_all_wall_ms", before round 1 and after every round
FL_HASH=$T/flow-hash
: >"$FL_HASH"
FL_CPU0=$(cpu_split)
# "jobs cpu_seconds held_seconds handbacks" of regain's hashing pool
# (/metrics): the CPU one hash takes inside regain during the flows, beside
# the ceiling's, and how the finished hashes went back to the loops.
worker_metrics() {
    curl -s "http://127.0.0.1:$R_PORT/metrics" |
        awk '$1 == "regain_worker_jobs_total" { j = $2 } $1 == "regain_worker_cpu_seconds_total" { c = $2 }
             $1 == "regain_worker_held_seconds_total" { h = $2 } $1 == "regain_worker_handbacks_total" { b = $2 }
             END { print j + 0, c + 0, h + 0, b + 0 }'
}
FL_W0=$(worker_metrics)
FL_TOOL=0 FL_N=0
printf '%s\t%s\t%s\n' "$(hash_one)" "$(hash_all)" "$(hash_all_wall)" >>"$FL_HASH"
for r in $(seq "$FLOW_ROUNDS"); do
    FL_TM=$( { TIMEFORMAT='%U %S'; time build/bench_flows "https://localhost:$R_TLS" "$T/cert.pem" bench-web \
        "$WEB_SECRET" "$OREDIRECT" "$OUSER" "$OPASSWORD" "$OIDC_C" "$D" >"$T/flows.$r.json" 2>"$T/flows.err" || true; } 2>&1 )
    FL_TOOL=$(echo "$FL_TOOL $FL_TM" | awk '{ print $1 + $2 + $3 }')
    FL_N=$((FL_N + $(jq -r '.flows // 0' "$T/flows.$r.json" 2>/dev/null || echo 0)))
    printf '%s\t%s\t%s\n' "$(hash_one)" "$(hash_all)" "$(hash_all_wall)" >>"$FL_HASH"
done
FL_W1=$(worker_metrics)
FL_SPLIT=$(split_per "$FL_CPU0" "$(cpu_split)" "$FL_TOOL" "$FL_N" 1000)
if [ "$have_node" = 1 ]; then
    echo "   oidc-provider client_credentials"
    OP_PORT=$(free_ports 1)
    OP_SECRET=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
    node "$INTEROP/bench_oidc_provider.mjs" "$OP_PORT" bench-cc "$OP_SECRET" >"$T/op.out" 2>"$T/op.err" &
    OP_PID=$!
    for _ in $(seq 100); do grep -q ready "$T/op.out" 2>/dev/null && break; sleep 0.1; done
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "bench-cc:$OP_SECRET" -d grant_type=client_credentials \
        -d scope=admin "http://127.0.0.1:$OP_PORT/token" || true)
    if [ "$code" = 200 ]; then
        sed -i "s|Basic $CC_BASIC|Basic $(printf 'bench-cc:%s' "$OP_SECRET" | base64 -w0)|" "$T/cc.lua"
        oidc_wrk "oidc-provider client_credentials" "http://127.0.0.1:$OP_PORT/token" "$T/cc.lua"
    else
        echo "   oidc-provider answers $code: not measured"
        tail -n 5 "$T/op.err"
    fi
    kill -TERM "$OP_PID" 2>/dev/null || true
    wait "$OP_PID" 2>/dev/null || true
    OP_PID=""
fi
kill -0 "$REGAIN_PID" 2>/dev/null || { echo "bench: regain died during the OpenID Provider runs:" >&2; tail -n 20 "$T/regain.err" >&2; }

# ---- report -----------------------------------------------------------------------
echo
printf '%-36s %-5s %10s %9s %9s  %-8s %s\n' "OpenID Provider" "proto" "req/s" "p50 ms" "p99 ms" "errors" "requests"
printf '%-36s %-5s %10s %9s %9s  %-8s %s\n' "---------------" "-----" "-----" "------" "------" "------" "--------"
awk -F'\t' '{ printf "%-36s %-5s %10s %9s %9s  %-8s %s\n", $1, $2, $3, $4, $5, $6, $7 }' "$ORES"
for r in $(seq "$FLOW_ROUNDS"); do
    if [ -s "$T/flows.$r.json" ]; then
        jq -r --arg r "$r" '"regain complete flows, round \($r)       h1/TLS \(.per_s) flows/s  p50 \(.p50_ms) ms  p99 \(.p99_ms) ms  errors \(.errors)\(if .first_error != "" then " (first: " + .first_error + ")" else "" end)  [steady state over \(.window_s) s; whole run \(.all_per_s)/s; driver \(.driver_cpu_pct)% of a core]"' "$T/flows.$r.json"
    else
        echo "regain complete flows, round $r: not measured $(head -c 300 "$T/flows.err" 2>/dev/null)"
    fi
done
echo
echo "targets"
awk -F'\t' -v codes="$OIDC_CODES" '
    $1 == "regain client_credentials" && $2 == "h1" { rcc = $3 }
    $1 == "oidc-provider client_credentials" { opcc = $3 }
    $1 == "regain code exchange" { ce[++runs] = $3; ce_bad += $6; if ($7 + 0 > ce_n) ce_n = $7 }
    END {
        if (opcc + 0 > 0)
            printf "  client_credentials regain/oidc-provider (wrk -t1 -c16, h1): %.0f / %.0f = %.1fx  (target >= 5x): %s\n",
                rcc, opcc, rcc / opcc, (rcc / opcc >= 5 ? "meets target" : "BELOW target")
        else
            print "  client_credentials regain/oidc-provider: n/a (oidc-provider not measured)"
        # The median run (of an even number, the lower middle one).
        for (i = 1; i <= runs; i++) w[i] = ce[i] + 0
        for (i = 2; i <= runs; i++) for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
        med = runs ? w[int((runs + 1) / 2)] : 0
        list = ""
        for (i = 1; i <= runs; i++) list = list (i > 1 ? ", " : "") ce[i]
        printf "  code exchange: median of %d runs %.0f/s [%s] (target >= 10000/s): %s%s\n", runs, med, list,
            (med >= 10000 ? "meets target" : "BELOW target"),
            (ce_n + 0 > codes / runs ? sprintf("  [a run ran out of minted codes: %d requests, %d codes]", ce_n, codes / runs) : "")
        if (ce_bad + 0 > 0) printf "    (%d non-2xx answers in the code exchange runs)\n", ce_bad
    }' "$ORES"
# Complete flows against the password-hash ceiling, round by round.
for r in $(seq "$FLOW_ROUNDS"); do
    jq -r '.per_s // 0' "$T/flows.$r.json" 2>/dev/null || echo 0
done | awk -v cores="$CORES" -v cost="t=$A_T m=$A_M KiB p=$A_P" 'NR == FNR { one[FNR - 1] = $1; cpu[FNR - 1] = $2; wall[FNR - 1] = $3
                                           all[FNR - 1] = $2 < $3 ? $2 : $3; next }
    { flows[FNR] = $1; n = FNR }
    END {
        printf "  Argon2id (%s); password-hash ceiling = %d cores / the time of one hash while every core hashes\n", cost, cores
        print  "    (as the workers hash under load; the smaller of its CPU and wall-clock times), measured before"
        print  "    and after each round of flows:"
        for (r = 1; r <= n; r++) {
            h = (all[r - 1] + all[r]) / 2; c = cores * 1000 / h; ratio[r] = flows[r] / c
            hc = (cpu[r - 1] + cpu[r]) / 2; hw = (wall[r - 1] + wall[r]) / 2
            h1 = (one[r - 1] + one[r]) / 2; c1 = cores * 1000 / h1; alone[r] = flows[r] / c1; pure[r] = h1 / hw
            printf "    round %d: %.1f ms per hash -> ceiling %.1f/s; flows %.1f/s = %.1f%%", r, h, c, flows[r], 100 * ratio[r]
            printf "   [CPU %.1f ms, wall %.1f ms; one hash alone %.1f ms -> %.1f/s; flows = %.0f%% of that]\n", hc, hw,
                h1, c1, 100 * alone[r]
        }
        m = median(ratio, n); m1 = median(alone, n); mp = median(pure, n)
        printf "  complete flows: median round %.1f%% of the password-hash ceiling (target >= 90%%): %s\n", 100 * m,
            (m >= 0.9 ? "meets target" : "BELOW target")
        printf "    (against %d cores / the time of one hash alone: %.0f%%; hashing on every core and nothing else\n", cores, 100 * m1
        printf "     reaches %.0f%% of that figure here: hashes side by side share the caches and the memory bus)\n", 100 * mp
    }
    function median(v, n,    i, j, t, w) {
        for (i = 1; i <= n; i++) w[i] = v[i]
        for (i = 2; i <= n; i++) for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
        return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
    }' "$FL_HASH" -
# How fast this machine is now, against the issue's reference (oidc-provider
# about 7,700 client_credentials/s, one ES256 signature about 14 us of a
# core): every exchange signs two tokens, and this shared VM's speed drifts.
ES256_US=$(openssl speed -seconds 1 ecdsap256 2>/dev/null | awk '/nistp256/ && $NF ~ /^[0-9.]+$/ { printf "%.1f", 1e6 / $(NF - 1) }')
[ -n "$ES256_US" ] && echo "  machine speed now: one ES256 signature ${ES256_US} us of a core (openssl speed; the issue's reference: about 14 us)"
echo "$CE_SPLIT" | awk '$1 != "-" {
    printf "  CPU per code exchange: regain %.0f us, PostgreSQL %.0f us, wrk %.0f us\n", $1 + $2, $3, $4 }'
echo "$FL_SPLIT" | awk '$1 != "-" {
    printf "  CPU per complete flow: password workers %.2f ms, regain'"'"'s other threads %.2f ms, PostgreSQL %.2f ms, driver %.2f ms\n",
        $1, $2, $3, $4 }'
# The flows' hashes against the ceiling's, both by the thread's CPU clock:
# the rest of a flow's work shares the cores and the caches with the hash.
echo "$FL_W0 $FL_W1" | awk -v hf="$FL_HASH" '{
    while ((getline line < hf) > 0) { split(line, f, "\t"); s += f[2]; n++ }
    jobs = $5 - $1; if (jobs <= 0 || n == 0) exit
    h = ($6 - $2) * 1000 / jobs; c = s / n
    printf "  one hash inside regain during the flows: %.2f ms of CPU (%d hashes, /metrics), against %.2f ms while the\n", h, jobs, c
    printf "    cores do nothing but hash (the ceiling'"'"'s CPU clock, mean of its medians): %+.1f%%\n", 100 * (h / c - 1)
    if ($8 - $4 > 0)
        printf "  finished hashes went back to the event loops %.1f at a time, held %.1f ms on average (server.worker_hold_ms)\n",
            jobs / ($8 - $4), ($7 - $3) * 1000 / jobs }'
