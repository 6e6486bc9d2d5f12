# shellcheck shell=bash
# `make bench`, part 3: SCIM.  Sourced by tests/bench/run.sh at the end, with
# its regain still running; uses its T, ROOT, D, PYTHON, DB_URL, R_PORT and
# the functions percentiles().  Measures the items of issue 4 (9), all over
# cleartext on loopback, client and server sharing the machine's cores:
#   load     users created through POST /scim/v2/Bulk, SCIM_BENCH_BATCH (1000
#            = maxOperations) per request, SCIM_BENCH_CONC requests in flight
#            (4), each user with a work email, for at most
#            SCIM_BENCH_LOAD_SECONDS (120) or SCIM_BENCH_USERS users.  The
#            rate printed is this phase only.  Target >= 5,000 users/s.
#   fill     when /Bulk stopped short of SCIM_BENCH_USERS (default
#            1,000,000), the rest are created directly in PostgreSQL with
#            scim_users_create_many (same documents), so the queries below
#            run at the size asked for; SCIM_BENCH_FILL=0 skips it (then
#            the queries run at what /Bulk loaded, and the lines say so).
#   groups   10 groups of 100 members (one /Bulk request), and a group of
#            100,000 members (PATCH add in chunks of 5,000)
#   queries  h2load -c $SCIM_C -m 1 (h2c, 4 by default) for D seconds over
#            1,000 distinct URIs each, after VACUUM (ANALYZE):
#              GET /Users?filter=userName eq "user…"              (p99 < 5 ms)
#              GET /Users?filter=emails[type eq "work" and value sw "user012345"]
#              GET /Users?sortBy=userName&count=100&startIndex=<1..10,000>
#                  (index paging at the depths a person pages to; p99 < 20 ms)
#              GET /Users?sortBy=userName&count=100&startIndex=<10,001..100,000>
#              GET /Users?sortBy=userName&count=100&startIndex=<anywhere>
#              GET /Users?sortBy=userName&sortOrder=descending&count=100&startIndex=<anywhere>
#                  (index paging at any depth, as a provisioning client's
#                  import walks the whole directory: startIndex uniform over
#                  1..users-99, 1,000 of them; the kept row counts of
#                  schema/018_scim_user_ranks.sql make these independent of
#                  the depth; p99 < 20 ms)
#   cursor   one client following nextCursor (RFC 9865) through 100-item
#            userName pages for 3 x D seconds: keyset pages, p50/p99 and the
#            first and last page's latency (p99 < 20 ms)
#   PATCH    one member added, then removed, on the 100,000-member group,
#            one request at a time (SCIM_BENCH_PATCH_ROUNDS, 200 pairs)
# The latency targets hold at 1,000,000 users; with fewer present the line
# says so.

SCIM_USERS=${SCIM_BENCH_USERS:-1000000}
SCIM_BATCH=${SCIM_BENCH_BATCH:-1000}
SCIM_CONC=${SCIM_BENCH_CONC:-4}
SCIM_LOAD_S=${SCIM_BENCH_LOAD_SECONDS:-120}
SCIM_FILL=${SCIM_BENCH_FILL:-1}
SCIM_C=${SCIM_BENCH_QUERY_CONC:-4}
SCIM_ROUNDS=${SCIM_BENCH_PATCH_ROUNDS:-200}
SCIM_RES=$T/scim-results
: >"$SCIM_RES"

echo
echo "== SCIM (${SCIM_USERS} users through /Bulk, ${SCIM_BATCH} per request, ${SCIM_CONC} in flight; queries at concurrency $SCIM_C, ${D}s each)"

scim_bench() {
    local secret token base=http://127.0.0.1:$R_PORT
    secret=$(build/regain client add --id bench-scim --grant-types client_credentials --scopes "scim" \
        --auth-method client_secret_basic --json --config "$T/regain.json" | jq -r .client_secret)
    token=$(curl -s -u "bench-scim:$secret" -d 'grant_type=client_credentials&scope=scim' "$base/token" |
        jq -r .access_token)
    if [ -z "$token" ] || [ "$token" = null ]; then
        echo "   no SCIM token: not measured"
        return
    fi
    local code
    code=$(curl -s -o "$T/scim-probe.json" -w '%{http_code}' -H "authorization: Bearer $token" \
        -H 'content-type: application/scim+json' \
        -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[]}' "$base/scim/v2/Bulk")
    if [ "$code" != 200 ]; then
        echo "   POST /scim/v2/Bulk answers $code: not measured"
        return
    fi

    # ---- load -------------------------------------------------------------------
    local line loaded secs rate errors
    line=$("$PYTHON" tests/bench/scim_load.py load "$R_PORT" bench-scim "$secret" "$SCIM_USERS" "$SCIM_BATCH" \
        "$SCIM_CONC" "$SCIM_LOAD_S" "$T/scim-ids.txt" 2>"$T/scim-load.err")
    read -r _ loaded _ secs _ rate _ errors _ <<<"$line"
    echo "   $line"
    [ -s "$T/scim-load.err" ] && sed 's/^/   /' "$T/scim-load.err" | head -n 3
    printf 'load\t%s\t%s\t%s\t%s\n' "${loaded:-0}" "${secs:-0}" "${rate:-0}" "${errors:-?}" >>"$SCIM_RES"
    if [ "${loaded:-0}" -lt 1000 ]; then
        echo "   fewer than 1,000 users loaded: queries not measured"
        return
    fi
    # ---- fill (not part of the load rate) ----------------------------------------------
    local present=$loaded
    if [ "$SCIM_FILL" = 1 ] && [ "$loaded" -lt "$SCIM_USERS" ]; then
        local t0 t1
        t0=$(date +%s)
        # Names user<i> as the loader's; a name /Bulk already created comes
        # back 23505 and is skipped.  One transaction per 1,000 users.
        psql -X -q -v ON_ERROR_STOP=1 -v from="$((loaded - loaded % 1000))" -v upto="$SCIM_USERS" "$DB_URL" \
            >/dev/null 2>"$T/scim-fill.err" <<'SQL' || echo "   fill failed: $(head -c 300 "$T/scim-fill.err")"
CREATE PROCEDURE pg_temp.scim_fill(p_from integer, p_upto integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR k IN p_from / 1000 .. (p_upto - 1) / 1000 LOOP
        PERFORM count(*) FROM scim_users_create_many((
            SELECT jsonb_agg(jsonb_build_object('doc', jsonb_build_object(
                       'schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User'),
                       'userName', 'user' || lpad(i::text, 7, '0'), 'externalId', 'ext-' || lpad(i::text, 7, '0'),
                       'name', jsonb_build_object('givenName', 'Given' || (i % 1000), 'familyName', 'Family' || (i / 1000)),
                       'displayName', 'User ' || i, 'active', true,
                       'emails', jsonb_build_array(jsonb_build_object(
                           'type', 'work', 'value', 'user' || lpad(i::text, 7, '0') || '@corp' || (i % 50) || '.example',
                           'primary', true)))))
              FROM generate_series(k * 1000, least(k * 1000 + 999, p_upto - 1)) i));
        COMMIT;
    END LOOP;
END
$$;
CALL pg_temp.scim_fill(:from, :upto);
SQL
        t1=$(date +%s)
        present=$(psql -X -A -t "$DB_URL" -c "SELECT n FROM scim_counts WHERE resource = 'User'" 2>/dev/null)
        echo "   fill: ${present:-?} users present after $((t1 - t0)) s in PostgreSQL (scim_users_create_many; not /Bulk)"
        # The group below takes its members from the first 100,001 users.
        psql -X -A -t "$DB_URL" -c "SELECT id FROM users WHERE lower(user_name) LIKE 'user%' ORDER BY lower(user_name) LIMIT 100001" \
            >"$T/scim-ids.txt" 2>/dev/null
    fi
    printf 'present\t%s\n' "${present:-0}" >>"$SCIM_RES"

    # ---- groups -----------------------------------------------------------------
    "$PYTHON" - "$T/scim-ids.txt" "$T/scim-groups.json" <<'EOF'
import json, sys
ids = [x.strip() for x in open(sys.argv[1]) if x.strip()]
ops = [{"method": "POST", "path": "/Groups", "bulkId": "g%d" % g,
        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "bench-team-%d" % g,
                 "members": [{"value": x} for x in ids[g * 100:(g + 1) * 100]]}} for g in range(10)]
json.dump({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops},
          open(sys.argv[2], "w"))
EOF
    curl -s -o "$T/scim-groups.out" -H "authorization: Bearer $token" -H 'content-type: application/scim+json' \
        --data-binary "@$T/scim-groups.json" "$base/scim/v2/Bulk"
    echo "   10 groups of 100 members: $(jq -r '[.Operations[]?.status] | group_by(.) | map("\(length)x \(.[0])") | join(", ")' "$T/scim-groups.out" 2>/dev/null)"
    local members=$((present - 1)) gid
    [ "$members" -gt 100000 ] && members=100000
    line=$("$PYTHON" tests/bench/scim_load.py group "$R_PORT" bench-scim "$secret" "$T/scim-ids.txt" "$members" 5000 \
        2>&1) || { echo "   big group: $line"; return; }
    echo "   $line"
    read -r _ gid _ <<<"$line"
    # The steady state autovacuum reaches after a bulk load (visibility map,
    # hint bits, statistics), here before measuring rather than during it:
    # on 2 cores an autovacuum of a fresh million-row table competes with
    # every query measured below.
    psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" -c "VACUUM (ANALYZE) users, user_values, groups, group_members" \
        >/dev/null 2>&1 || echo "   VACUUM ANALYZE failed"

    # ---- queries --------------------------------------------------------------------
    "$PYTHON" - "$base" "$present" "$T" <<'EOF'
import random, sys
from urllib.parse import quote
base, n, t = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(7)
def w(name, qs):
    with open("%s/scim-%s.uris" % (t, name), "w") as f:
        for q in qs:
            f.write("%s/scim/v2/Users?%s\n" % (base, q))
w("eq", ["filter=" + quote('userName eq "user%07d"' % rnd.randrange(n), safe="") for _ in range(1000)])
w("sw", ["filter=" + quote('emails[type eq "work" and value sw "user%06d"]' % rnd.randrange(max(1, n // 10)),
                           safe="") for _ in range(1000)])
def starts(lo, hi):  # startIndex in [lo, hi], within the users present
    hi = max(lo, min(hi, n - 100))
    return ["sortBy=userName&count=100&startIndex=%d" % rnd.randint(lo, hi) for _ in range(1000)]
w("page", starts(1, 10000))
w("mid", starts(10001, 100000))
w("deep", starts(1, n))
w("deepdesc", [q + "&sortOrder=descending" for q in starts(1, n)])
EOF
    local name file
    for spec in "userName eq|eq" "emails[type eq work and value sw]|sw" \
        "sortBy=userName 100/page, startIndex<=10000|page" \
        "sortBy=userName 100/page, startIndex 10001-100000|mid" "sortBy=userName 100/page, startIndex any|deep" \
        "sortBy=userName descending, startIndex any|deepdesc"; do
        name=${spec%|*}
        file=$T/scim-${spec#*|}.uris
        rm -f "$T/scim-h2load.log"
        if ! h2load -D "$D" -c "$SCIM_C" -m 1 -t 1 -H "authorization: Bearer $token" -i "$file" \
            --log-file="$T/scim-h2load.log" >"$T/scim-h2load.out" 2>&1; then
            printf 'query\t%s\t0\t-\t-\th2load failed\n' "$name" >>"$SCIM_RES"
            continue
        fi
        local rps bad p
        rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^req\/s/) { v = $(i - 1); gsub(/,/, "", v); print v } }' "$T/scim-h2load.out")
        bad=$(awk '/^status codes:/ { n = $5 + $7 + $9 } /^requests:/ { f = $10 + $12 } END { print n + f }' "$T/scim-h2load.out")
        awk -F'\t' '{ print $3 }' "$T/scim-h2load.log" >"$T/scim-h2load.lat"
        p=$(percentiles "$T/scim-h2load.lat")
        printf 'query\t%s\t%.0f\t%s\t%s\t%s\n' "$name" "${rps:-0}" "${p% *}" "${p#* }" "${bad:-?}" >>"$SCIM_RES"
        if [ "${bad:-0}" != 0 ]; then # say why, so a failed run can be understood afterwards
            echo "   $name: $(grep -m1 '^status codes:' "$T/scim-h2load.out")" >&2
            grep -v '"type":"access"' "$T/regain.err" | grep -E '"level":"(error|warn)"' | tail -n 3 | cut -c1-300 >&2 || true
        fi
    done

    # ---- cursor paging ----------------------------------------------------------------------
    line=$("$PYTHON" tests/bench/scim_load.py walk "$R_PORT" bench-scim "$secret" "$((3 * D))" "$T/scim-walk.lat" 2>&1)
    echo "   cursor walk: $line"
    local wdepth
    wdepth=$(awk '{ print $4 }' <<<"$line")
    p=$(percentiles "$T/scim-walk.lat")
    printf 'query\t%s\t-\t%s\t%s\t%s\n' "sortBy=userName 100/page, cursor to ${wdepth:-?}" "${p% *}" "${p#* }" \
        "$(awk '{ print $6 }' <<<"$line")" >>"$SCIM_RES"

    # ---- PATCH on the big group ------------------------------------------------------------
    line=$("$PYTHON" tests/bench/scim_load.py patch "$R_PORT" bench-scim "$secret" "$T/scim-ids.txt" "$gid" \
        "$SCIM_ROUNDS" "$T/scim-patch.lat" 2>&1)
    local ok=${line#ok } pbad
    ok=${ok%% *}
    pbad=${line##* }
    p=$(percentiles "$T/scim-patch.lat")
    printf 'query\tPATCH add/remove 1 member, %s-member group\t-\t%s\t%s\t%s\n' "$members" "${p% *}" "${p#* }" \
        "${pbad:-?}" >>"$SCIM_RES"
    if [ "${ok:-0}" = 0 ]; then echo "   PATCH: $line"; fi
}
# Whatever it measured is reported, even when a step fails.
scim_bench || echo "   (the SCIM measurements stopped early)"

kill -0 "$REGAIN_PID" 2>/dev/null || { echo "bench: regain died during the SCIM run:" >&2; tail -n 20 "$T/regain.err" >&2; }

# ---- report ---------------------------------------------------------------------------
echo
awk -F'\t' -v want="$SCIM_USERS" '
    $1 == "load" {
        printf "SCIM /Bulk load: %d users in %.1f s = %.0f users/s (target >= 5000/s): %s; %s failed operations\n",
            $2, $3, $4, ($4 + 0 >= 5000 ? "meets target" : "BELOW target"), $5
        if ($2 + 0 < want + 0) printf "  (/Bulk loaded %d of the %d asked for within the time limit)\n", $2, want
        loaded = $2
    }
    $1 == "present" && $2 + 0 > loaded + 0 { printf "  (%d users present for the queries: the rest created directly in PostgreSQL, not counted in the rate)\n", $2 }
    ' "$SCIM_RES"
printf '%-48s %9s %9s %9s  %s\n' "SCIM query" "req/s" "p50 ms" "p99 ms" "errors"
printf '%-48s %9s %9s %9s  %s\n' "----------" "-----" "------" "------" "------"
awk -F'\t' '$1 == "query" { printf "%-48s %9s %9s %9s  %s\n", $2, $3, $4, $5, $6 }' "$SCIM_RES"
awk -F'\t' '
    $1 == "present" { n = $2 }
    $1 == "query" && $2 == "userName eq" { eq = $5 }
    $1 == "query" && $2 ~ /startIndex<=/ { pg = $5 }
    $1 == "query" && $2 ~ /startIndex 10001-/ { mid = $5 }
    $1 == "query" && $2 ~ /^emails/ { sw = $5 }
    $1 == "query" && $2 ~ /^PATCH/ { patch = $5 }
    $1 == "query" && $2 ~ /^sortBy=userName 100\/page, startIndex any/ { deep = $5 }
    $1 == "query" && $2 ~ /descending, startIndex any/ { deepdesc = $5 }
    $1 == "query" && $2 ~ /cursor/ { cur = $5 }
    function verdict(v, t) { return (v != "" && v != "-" && v + 0 < t ? "meets target" : "MISSES target") }
    END {
        at = (n + 0 >= 1000000 ? " [at " n " users]" : sprintf(" [at %d users, not 1,000,000]", n))
        if (eq != "") printf "  userName eq p99 %s ms (target < 5 ms): %s%s\n", eq, verdict(eq, 5), at
        if (sw != "") printf "  emails[type eq \"work\" and value sw ...] p99 %s ms (no target in the issue)%s\n", sw, at
        if (cur != "") printf "  100-item page, following cursors (RFC 9865), p99 %s ms (target < 20 ms): %s%s\n", cur, verdict(cur, 20), at
        if (pg != "") printf "  100-item page, startIndex <= 10,000, p99 %s ms (target < 20 ms): %s%s\n", pg, verdict(pg, 20), at
        if (mid != "") printf "  100-item page, startIndex 10,001-100,000, p99 %s ms (target < 20 ms): %s%s\n", mid, verdict(mid, 20), at
        if (deep != "") printf "  100-item page, startIndex anywhere, p99 %s ms (target < 20 ms): %s%s\n", deep, verdict(deep, 20), at
        if (deepdesc != "") printf "  100-item page, descending, startIndex anywhere, p99 %s ms (target < 20 ms): %s%s\n", deepdesc, verdict(deepdesc, 20), at
        if (patch != "") printf "  group PATCH (one member, large group) p99 %s ms (no target in the issue)%s\n", patch, at
    }' "$SCIM_RES"
