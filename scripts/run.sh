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
# A second run reuses all of it; delete var/ to start from scratch.
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
    elif [ "$(jq -r '.database.url' "$CONFIG")" != "$url" ]; then
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
# demo exercises the same code paths an operator uses. It must be idempotent
# (a second `make run` finds the data already there).
# Nothing to seed yet. Later issues add here, for example:
#   "$REGAIN" client add --config "$CONFIG" ...   (a demo relying party)
#   "$REGAIN" user add   --config "$CONFIG" ...   (demo users)
# and record what they created in var/demo.json (write_demo_json).
# ---------------------------------------------------------------------------
seed_demo() {
    :
}

write_demo_json() {
    jq -n --arg issuer "$ISSUER" --arg https "$HTTPS_BASE" --arg http "$HTTP_BASE" '
        def urls($base): {
            discovery: "\($base)/.well-known/openid-configuration",
            jwks: "\($base)/jwks.json",
            healthz: "\($base)/healthz",
            readyz: "\($base)/readyz",
            metrics: "\($base)/metrics"
        };
        {issuer: $issuer, urls: {https: urls($https), http: urls($http)},
         clients: [], users: []}' >"$DEMO.tmp"
    mv -f "$DEMO.tmp" "$DEMO"
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
  Demo data: $DEMO.  Database: psql "$db_url"
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
