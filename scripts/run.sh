#!/usr/bin/env bash
# `make run`: build regain, start a private PostgreSQL, create a development
# config and certificate on first use, migrate, seed demo data and serve in the
# foreground. Ctrl-C (or SIGTERM) stops regain, then the database.
#
# Everything it creates lives in var/ (git-ignored):
#   var/pg/          the PostgreSQL cluster (scripts/pg.sh)
#   var/regain.json  the config, with a random key-encryption key (mode 0600)
#   var/tls/         the self-signed localhost certificate (scripts/devcert.sh)
#   var/demo.json    what the demo offers: URLs, clients, users
# A second run reuses all of it; `make clean-run` starts from scratch (var/
# alone is not all: pg.sh may keep the cluster under /tmp, var/pg/cluster
# pointing to it).
set -euo pipefail

cd "$(dirname "$0")/.."
VAR=var
CONFIG=$VAR/regain.json
DEMO=$VAR/demo.json
REGAIN=build/regain
ISSUER=https://localhost:8443
HTTPS_BASE=https://localhost:8443
HTTP_BASE=http://localhost:8080

say() { echo "run.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Refuse early if something already listens on our ports: regain would refuse
# too, but only after the build and the database start.
check_ports() {
    local ports port busy=0
    if [ -f "$CONFIG" ]; then
        ports=$(jq -r '.listen[].port' "$CONFIG")
    else
        ports="8443 8080"
    fi
    for port in $ports; do
        if [ -n "$(ss -ltnH "sport = :$port")" ]; then
            say "port $port is already in use:"
            ss -ltnpH "sport = :$port" >&2 || true
            busy=1
        fi
    done
    [ $busy -eq 0 ] || die "stop whatever holds the port (another \`make run\`?) and try again"
}

# The config is written once; later runs keep it (and its key), only the
# database address is refreshed because pg.sh may have moved the socket.
ensure_config() {
    local url=$1
    if [ ! -f "$CONFIG" ]; then
        say "creating $CONFIG with a new random key-encryption key"
        (
            umask 077
            jq -n --arg issuer "$ISSUER" --arg url "$url" \
                --arg kek "$(openssl rand -base64 32)" '{
                issuer: $issuer,
                dev_mode: true,
                database: {url: $url, pool_size: 2, query_timeout_ms: 5000},
                listen: [
                    {address: "127.0.0.1", port: 8443,
                     tls: {certificate_file: "tls/cert.pem", key_file: "tls/key.pem"}},
                    {address: "127.0.0.1", port: 8080}
                ],
                server: {threads: 0, max_request_body_bytes: 1048576, idle_timeout_ms: 10000,
                         max_streams_per_connection: 100, shutdown_timeout_ms: 10000},
                keys: {encryption_key: $kek, refresh_interval_ms: 10000},
                log: {level: "info", access_log: true}
            }' >"$CONFIG.tmp"
            mv -f "$CONFIG.tmp" "$CONFIG"
        )
    fi
    # The simulated identity-verification provider (dev_mode only), so the
    # demo can walk through verified recovery; added to older configs too.
    if ! jq -e '.providers' "$CONFIG" >/dev/null; then
        say "adding the dev identity-verification provider to $CONFIG"
        (
            umask 077
            jq '.providers = [{id: "dev", type: "dev", display_name: "Simulated identity check (dev)"}]
                | .recovery = ((.recovery // {}) + {trust_frameworks: ["dev"]})' "$CONFIG" >"$CONFIG.tmp"
            mv -f "$CONFIG.tmp" "$CONFIG"
        )
    fi
    if [ "$(jq -r '.database.url' "$CONFIG")" != "$url" ]; then
        say "updating database.url in $CONFIG to $url"
        (
            umask 077
            jq --arg url "$url" '.database.url = $url' "$CONFIG" >"$CONFIG.tmp"
            mv -f "$CONFIG.tmp" "$CONFIG"
        )
    fi
}

# ---------------------------------------------------------------------------
# seed_demo: put demo data into the database through regain's own CLI, so the
# demo exercises the same code paths an operator uses, and record it, secrets
# included, in var/demo.json (write_demo_json). Idempotent: a second
# `make run` finds the clients and the user in the database and their secrets
# in var/demo.json; anything whose secret was lost (var/demo.json deleted) is
# created afresh.
#   demo-web    confidential web app: code flow + refresh, client_secret_basic
#   demo-spa    public client (token_endpoint_auth_method none): code + PKCE
#   demo-admin  admin API client: client_credentials, scope admin
#   demo        a user with a random password
# ---------------------------------------------------------------------------
DEMO_WEB_REDIRECT=$HTTPS_BASE/demo/callback
DEMO_SPA_REDIRECT=http://127.0.0.1:8765/callback
DEMO_POST_LOGOUT=$HTTPS_BASE/demo/signed-out
DEMO_CLIENTS='[]'
DEMO_USERS='[]'

# The value recorded by an earlier run: demo_recorded clients|users KEY ID FIELD
demo_recorded() {
    [ -f "$DEMO" ] || return 0
    jq -r --arg sect "$1" --arg k "$2" --arg id "$3" --arg f "$4" \
        '(.[$sect] // [])[] | select(.[$k] == $id) | .[$f] // empty' "$DEMO" 2>/dev/null || true
}

# demo_client ID SECRET_EXPECTED(1|0) ADD_OPTIONS...: registers the client
# unless it exists with a recorded secret; appends its record to DEMO_CLIENTS.
demo_client() {
    local id=$1 confidential=$2 json secret=""
    shift 2
    if "$REGAIN" client list --json --config "$CONFIG" | jq -e --arg id "$id" 'any(.clients[]; .client_id == $id)' >/dev/null; then
        secret=$(demo_recorded clients client_id "$id" client_secret)
        if [ "$confidential" = 0 ] || [ -n "$secret" ]; then
            json=$("$REGAIN" client list --json --config "$CONFIG" | jq -c --arg id "$id" '.clients[] | select(.client_id == $id)')
            DEMO_CLIENTS=$(jq -c --argjson c "$json" --arg s "$secret" \
                '. + [$c + (if $s == "" then {} else {client_secret: $s} end)]' <<<"$DEMO_CLIENTS")
            return 0
        fi
        say "demo client $id exists but its secret was not recorded: registering it again"
        "$REGAIN" client remove "$id" --config "$CONFIG" >/dev/null
    fi
    json=$("$REGAIN" client add --id "$id" "$@" --json --config "$CONFIG")
    DEMO_CLIENTS=$(jq -c --argjson c "$json" '. + [$c]' <<<"$DEMO_CLIENTS")
}

# demo_user NAME: adds the user unless the database has it and var/demo.json
# records its password; appends its record to DEMO_USERS.
demo_user() {
    local name=$1 password exists
    password=$(demo_recorded users username "$name" password)
    exists=$(psql -X -q -tA -v ON_ERROR_STOP=1 "$db_url" -v name="$name" <<'SQL'
SELECT count(*) FROM users WHERE lower(user_name) = lower(:'name');
SQL
    )
    if [ -z "$password" ] || [ "$exists" = 0 ]; then
        # A new cluster (the old one was lost, e.g. under /tmp at a reboot)
        # gets the recorded password again, so the credentials printed before
        # stay right; without a record the password is new.
        [ -n "$password" ] || password=$(openssl rand -base64 12 | tr '+/' '-_')
        # A user left from a run whose var/demo.json was deleted: start it afresh.
        psql -X -q -v ON_ERROR_STOP=1 "$db_url" -v name="$name" >/dev/null <<'SQL'
DELETE FROM users WHERE lower(user_name) = lower(:'name');
SQL
        printf '%s\n' "$password" | "$REGAIN" user add --username "$name" --given-name Demo --family-name User \
            --email "$name@example.com" --email-verified --password-stdin --config "$CONFIG" >/dev/null
    fi
    DEMO_USERS=$(jq -c --arg u "$name" --arg p "$password" '. + [{username: $u, password: $p}]' <<<"$DEMO_USERS")
}

seed_demo() {
    demo_client demo-web 1 --name "Demo web app" --redirect-uri "$DEMO_WEB_REDIRECT" \
        --post-logout-redirect-uri "$DEMO_POST_LOGOUT" --grant-types authorization_code,refresh_token \
        --scopes "openid profile email offline_access" --auth-method client_secret_basic
    demo_client demo-spa 0 --name "Demo single-page app" --redirect-uri "$DEMO_SPA_REDIRECT" \
        --grant-types authorization_code --scopes "openid profile email" --auth-method none
    demo_client demo-admin 1 --name "Demo admin API client" --grant-types client_credentials --scopes admin \
        --auth-method client_secret_basic
    demo_user demo
    seed_recovery demo
}

# seed_recovery USER: makes USER recoverable in the demo. The user gets a
# birthdate and joins the SCIM group "recovery-eligible" (what a directory
# would push), and the recovery policy is switched on for that group with the
# dev provider, matching given name, family name and birthdate. The policy is
# written only while it is still the shipped default (version 1), so a policy
# changed through the admin API is never overwritten.
seed_recovery() {
    psql -X -q -v ON_ERROR_STOP=1 "$db_url" -v name="$1" >/dev/null <<'SQL'
UPDATE users SET birthdate = '1990-01-01' WHERE lower(user_name) = lower(:'name') AND birthdate IS NULL;
INSERT INTO groups (display_name)
    SELECT 'recovery-eligible' WHERE NOT EXISTS (SELECT 1 FROM groups WHERE display_name = 'recovery-eligible');
INSERT INTO group_members (group_id, member_id, member_type)
    SELECT g.id, u.id, 'User' FROM groups g, users u
    WHERE g.display_name = 'recovery-eligible' AND lower(u.user_name) = lower(:'name')
    ON CONFLICT DO NOTHING;
SELECT policy_put('recovery', jsonb_build_object(
    'mode', 'enabled',
    'eligibleGroups', jsonb_build_array((SELECT id FROM groups WHERE display_name = 'recovery-eligible' LIMIT 1)),
    'providers', jsonb_build_array(jsonb_build_object('id', 'dev')),
    'matching', jsonb_build_object('mode', 'relaxed', 'disambiguate', '[]'::jsonb, 'rules', jsonb_build_array(
        jsonb_build_object('claim', 'given_name', 'attribute', 'name.givenName'),
        jsonb_build_object('claim', 'family_name', 'attribute', 'name.familyName'),
        jsonb_build_object('claim', 'birthdate',
                           'attribute', 'urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate'))),
    'evidence', jsonb_build_object('trustFrameworks', jsonb_build_array('dev'), 'assuranceLevels', '[]'::jsonb,
                                   'maxAgeSeconds', 3600),
    'tap', jsonb_build_object('lifetimeInMinutes', 60, 'isUsableOnce', true, 'length', 16),
    'afterRecovery', jsonb_build_object('endSessions', true, 'removeOldMethods', false),
    'rateLimits', jsonb_build_object('perAccount', jsonb_build_object('max', 5, 'windowSeconds', 3600),
                                     'perAddress', jsonb_build_object('max', 20, 'windowSeconds', 3600)),
    'attemptLifetimeSeconds', 900), 1, 'make run', NULL, NULL);
SQL
}

# A ready-to-paste authorization request for demo-web, with its PKCE pair.
DEMO_VERIFIER=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
DEMO_CHALLENGE=$(printf '%s' "$DEMO_VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
DEMO_AUTH_URL="$HTTPS_BASE/authorize?response_type=code&client_id=demo-web&redirect_uri=$(jq -rn --arg u \
    "$DEMO_WEB_REDIRECT" '$u | @uri')&scope=openid%20profile%20email%20offline_access&state=demo-state\
&nonce=demo-nonce&code_challenge=$DEMO_CHALLENGE&code_challenge_method=S256"

write_demo_json() {
    (
        umask 077
        jq -n --arg issuer "$ISSUER" --arg https "$HTTPS_BASE" --arg http "$HTTP_BASE" \
            --argjson clients "$DEMO_CLIENTS" --argjson users "$DEMO_USERS" \
            --arg auth_url "$DEMO_AUTH_URL" --arg verifier "$DEMO_VERIFIER" '
            def urls($base): {
                discovery: "\($base)/.well-known/openid-configuration",
                jwks: "\($base)/jwks.json",
                authorize: "\($base)/authorize",
                token: "\($base)/token",
                userinfo: "\($base)/userinfo",
                healthz: "\($base)/healthz",
                readyz: "\($base)/readyz",
                metrics: "\($base)/metrics"
            };
            {issuer: $issuer, urls: {https: urls($https), http: urls($http)},
             clients: $clients, users: $users,
             example: {authorization_url: $auth_url, code_verifier: $verifier}}' >"$DEMO.tmp"
        mv -f "$DEMO.tmp" "$DEMO"
    )
}

check_ports

say "building $REGAIN"
make --no-print-directory -j2 "$REGAIN"

mkdir -p "$VAR"
regain_pid=
# shellcheck disable=SC2317 # called from the traps
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$regain_pid" ] && kill -0 "$regain_pid" 2>/dev/null; then
        say "stopping regain"
        kill -TERM "$regain_pid" 2>/dev/null || true
        wait "$regain_pid" 2>/dev/null || true
    fi
    say "stopping PostgreSQL"
    bash scripts/pg.sh stop "$PWD/$VAR/pg" || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting PostgreSQL in $VAR/pg"
bash scripts/pg.sh start "$PWD/$VAR/pg"
db_url=$(bash scripts/pg.sh url "$PWD/$VAR/pg")

ensure_config "$db_url"
bash scripts/devcert.sh "$VAR/tls"

say "migrating the database"
"$REGAIN" migrate --config "$CONFIG"
seed_demo
write_demo_json

cat >&2 <<EOF

  regain is starting (issuer $ISSUER, dev_mode on).

    OpenID discovery:  $HTTPS_BASE/.well-known/openid-configuration
    cleartext (h2c):   $HTTP_BASE/.well-known/openid-configuration
    health:            $HTTP_BASE/healthz   $HTTP_BASE/readyz   $HTTP_BASE/metrics

    curl --http2 -k $HTTPS_BASE/.well-known/openid-configuration
    curl --http2-prior-knowledge $HTTP_BASE/healthz

  The certificate is self-signed ($VAR/tls/cert.pem): hence -k.
  Demo data (clients, secrets, the demo user's password): $DEMO.  Database: psql "$db_url"

  Sign in as "demo" (password in $DEMO) with the demo web app; open:

    $DEMO_AUTH_URL

  then take the code from the address bar ($DEMO_WEB_REDIRECT?code=...) and:

    curl -k -u "demo-web:\$(jq -r '.clients[] | select(.client_id == "demo-web") | .client_secret' $DEMO)" \\
      -d grant_type=authorization_code -d redirect_uri=$DEMO_WEB_REDIRECT \\
      -d code_verifier=$DEMO_VERIFIER -d code=CODE $HTTPS_BASE/token

  Passkeys and authenticator apps: sign in as "demo" at $HTTPS_BASE/account/security
  (the RP ID is "localhost"; a browser may refuse passkeys on a page whose certificate
  it does not trust: then trust $VAR/tls/cert.pem, or start it with --ignore-certificate-errors).

  Verified recovery: open the sign-in page (the URL above), choose "Can't sign in? Recover
  your account", name "demo", pick the simulated identity check and type given name "Demo",
  family name "User", birthdate 1990-01-01: regain matches the directory entry, shows a
  Temporary Access Pass once, and with it you register a new passkey or authenticator app.
  Press Ctrl-C to stop regain and the database.

EOF

# In the background so that the shell can react to SIGTERM at once (a
# foreground child would delay the trap until it exits); the traps above then
# stop regain and the database.
"$REGAIN" serve --config "$CONFIG" &
regain_pid=$!
set +e
wait "$regain_pid"
rc=$?
set -e
regain_pid=
[ $rc -eq 0 ] || say "regain exited with status $rc"
exit $rc
