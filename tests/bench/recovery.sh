# shellcheck shell=bash
# `make bench`, part: verified recovery.  Sourced by tests/bench/run.sh (part
# "recovery" of BENCH_PARTS); uses its T, ROOT, D, PYTHON, DB_URL, KEY and the
# certificate, and registers REC_PID for its cleanup.
#
# Starts a second regain on the same database with dev_mode and the `dev`
# provider (the simulated identity check; refused without dev_mode, so the
# main bench server cannot serve it), then measures complete recoveries: a
# fresh browser goes /authorize (acr_values verified-recovery) -> /recover ->
# start -> the dev provider's answer (verified, matched, TAP minted and shown)
# -> first sign-in with the TAP (tests/interop/bench_recovery.mjs), REC_C at a
# time for D seconds, HTTP/1.1 over TLS.  Reports recoveries per second, the
# client's time for one whole recovery, and the server's: the sum of the
# access log's duration_ms over one recovery's five requests (their
# X-Request-Ids), p50 and p99.

REC_C=${BENCH_RECOVERY_C:-16}
read -r REC_PORT REC_TLS < <(free_ports 2)
REC_CFG=$T/regain-recovery.json
REC_REDIRECT=https://rp.bench.example/recovered
REC_GROUP=3f0e7d7c-2b1a-4c5d-8e9f-0a1b2c3d4e5f

echo
echo "== verified recovery with the dev provider (concurrency $REC_C, ${D}s)"

if ! command -v node >/dev/null || [ ! -d "$ROOT/tests/interop/node_modules" ]; then
    (cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm-ci-rec.log" 2>&1 || true
fi

cat >"$REC_CFG" <<EOF
{"issuer": "https://localhost:$REC_TLS", "dev_mode": true,
 "database": {"url": "$DB_URL", "pool_size": ${BENCH_POOL_SIZE:-2}, "query_timeout_ms": 5000},
 "listen": [{"address": "127.0.0.1", "port": $REC_TLS, "tls": {"certificate_file": "cert.pem", "key_file": "key.pem"}},
            {"address": "127.0.0.1", "port": $REC_PORT}],
 "server": {"threads": $THREADS, "max_request_body_bytes": 1048576, "idle_timeout_ms": 10000,
            "max_streams_per_connection": 100, "shutdown_timeout_ms": 5000},
 "keys": {"encryption_key": "$KEY", "refresh_interval_ms": 10000},
 "providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}],
 "log": {"level": "warn", "access_log": true}}
EOF

# Fixtures: a client, one eligible account per concurrent browser (distinct
# birthdates: each match is unique), and an enabled policy whose rate limits
# do not stop a benchmark.
psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" >"$T/rec-fixtures.log" 2>&1 <<EOF || { cat "$T/rec-fixtures.log"; }
INSERT INTO clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris)
VALUES ('bench-rec', 'bench recovery', 'none', '{authorization_code}', '{openid}', '{$REC_REDIRECT}')
ON CONFLICT DO NOTHING;
INSERT INTO groups (id, display_name) VALUES ('$REC_GROUP', 'recovery-bench') ON CONFLICT DO NOTHING;
WITH u AS (
    INSERT INTO users (user_name, given_name, family_name, birthdate)
    SELECT 'bench-rec' || i, 'Bench', 'User ' || i, '1970-01-' || lpad((i + 1)::text, 2, '0')
    FROM generate_series(0, $REC_C - 1) i
    ON CONFLICT DO NOTHING RETURNING id)
INSERT INTO group_members (group_id, member_id, member_type) SELECT '$REC_GROUP', id, 'User' FROM u;
SELECT o_status FROM policy_put('recovery', '{"mode": "enabled", "eligibleGroups": ["$REC_GROUP"],
    "providers": [{"id": "dev"}], "matching": {"mode": "relaxed", "rules": [
        {"claim": "given_name", "attribute": "name.givenName"},
        {"claim": "family_name", "attribute": "name.familyName"},
        {"claim": "birthdate", "attribute": "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate"}]},
    "evidence": {"trustFrameworks": ["dev"], "maxAgeSeconds": 600},
    "tap": {"lifetimeInMinutes": 60, "isUsableOnce": true, "length": 16},
    "rateLimits": {"perAccount": {"max": 1000, "windowSeconds": 60},
                   "perAddress": {"max": 1000, "windowSeconds": 60}},
    "attemptLifetimeSeconds": 900}'::jsonb, NULL, 'bench', NULL, NULL);
EOF

build/regain serve --config "$REC_CFG" </dev/null >"$T/rec.out" 2>"$T/rec.err" &
REC_PID=$!
if ! wait_http "http://127.0.0.1:$REC_PORT/healthz"; then
    echo "   the recovery regain did not become healthy:"
    tail -n 10 "$T/rec.err"
else
    node "$ROOT/tests/interop/bench_recovery.mjs" "https://localhost:$REC_TLS" "$T/cert.pem" bench-rec \
        "$REC_REDIRECT" bench-rec "$REC_C" "$D" "$T/rec-ids.txt" >"$T/rec-result.json" 2>"$T/rec-driver.err" ||
        { tail -n 5 "$T/rec-driver.err"; }
    kill -TERM "$REC_PID" 2>/dev/null || true
    wait "$REC_PID" 2>/dev/null || true
    REC_PID=""
    "$PYTHON" - "$T/rec-result.json" "$T/rec-ids.txt" "$T/rec.err" <<'EOF'
import json, sys
try:
    res = json.load(open(sys.argv[1]))
except Exception:
    print("   no result from the driver"); sys.exit(0)
dur = {}
for line in open(sys.argv[3], errors="replace"):
    if '"type":"access"' not in line:
        continue
    try:
        a = json.loads(line)
    except ValueError:
        continue
    dur[a.get("request_id")] = float(a.get("duration_ms", 0))
sums = []
for line in open(sys.argv[2]):
    ids = line.split()
    if ids and all(i in dur for i in ids):
        sums.append(sum(dur[i] for i in ids))
sums.sort()
pct = lambda p: "%.2f" % sums[min(len(sums) - 1, int(len(sums) * p))] if sums else "-"
print("   complete recoveries (attempt -> TAP -> first sign-in): %s in %.1f s = %s/s, errors %s%s"
      % (res["recoveries"], res["seconds"], res["per_s"], res["errors"],
         (" (first: %s)" % res["first_error"]) if res["first_error"] else ""))
print("   one recovery as the client sees it (5 requests, loopback TLS): p50 %s ms, p99 %s ms"
      % (res["p50_ms"], res["p99_ms"]))
print("   server time of one recovery (sum of its requests' duration_ms): p50 %s ms, p99 %s ms  [%d recoveries]"
      % (pct(0.5), pct(0.99), len(sums)))
print("   driver CPU: %s%% of one core (client and server share the machine)" % res["driver_cpu_pct"])
EOF
fi
