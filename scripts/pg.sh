#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests.
#
#   pg.sh start    DIR           initdb on first use, start, create database regain
#   pg.sh stop     DIR           fast shutdown (fine if not running)
#   pg.sh status   DIR           exit 0 if running, 3 if not
#   pg.sh url      DIR [DBNAME]  print the libpq conninfo (dbname defaults to regain)
#   pg.sh createdb DIR NAME      create database NAME (fine if it exists)
#   pg.sh dropdb   DIR NAME      drop database NAME (fine if it does not exist)
#   pg.sh destroy  DIR           stop, then delete the cluster, wherever it lives, and DIR
#
# Env: PG_FAST=1 starts the server without durability (fsync and
# full_page_writes off): for tests and benchmarks, where a crash loses nothing
# of value. Commits stay synchronous (PostgreSQL's default, and what a
# deployment runs): with fsync off a synchronous commit costs the backend one
# write(), while asynchronous commit woke the WAL writer about once per commit
# here, which cost more CPU in all (measured on the code exchange: 64-69 µs of
# PostgreSQL CPU per exchange against 76-86 µs).
#
# The server listens only on a Unix socket in a private directory (no TCP), so
# it cannot clash with another PostgreSQL on the machine. Authentication is
# "trust" for the superuser "regain": whoever can enter the socket directory
# can connect, which is why that directory is mode 0700.
#
# PostgreSQL refuses to run as root. As root, the server runs as the "postgres"
# user (created by the postgresql-15 package) and DIR is handed to it. If that
# user cannot reach DIR (a clone under a 0700 home directory, or a path with
# spaces or quotes), the cluster lives in a private directory under /tmp and
# DIR/cluster is a symlink to it. A Unix socket path is limited to 107 bytes;
# when DIR is too long, the socket goes to a short private directory under /tmp
# and DIR/socket points to it. `url` always prints where the socket really is.
set -euo pipefail

SOCKET_NAME=.s.PGSQL.5432
SOCKET_MAX=107 # sizeof(sun_path) - 1 on Linux

die() { echo "pg.sh: $*" >&2; exit 1; }
note() { echo "pg.sh: $*" >&2; }

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# Our own environment decides where things are, not the caller's libpq variables.
unset PGHOST PGPORT PGDATA PGUSER PGDATABASE PGHOSTADDR PGSERVICE PGOPTIONS

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    fi
    d=/usr/lib/postgresql/15/bin
    [ -x "$d/initdb" ] || die "PostgreSQL 15 server binaries not found in $d; run scripts/deps.sh"
    echo "$d"
}

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PG_USER=$(id -un)
if [ $IS_ROOT -eq 1 ]; then
    PG_USER=postgres
    getent passwd postgres >/dev/null || die "user postgres missing (it comes with the postgresql-15 package)"
fi

# Runs a command as the user that owns the cluster. From / so that the
# postgres user is not left in a directory it may not read (root's home).
as_owner() {
    if [ $IS_ROOT -eq 1 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Can the cluster owner reach (search) directory $1, including all its parents?
owner_can_reach() {
    [ $IS_ROOT -eq 0 ] && return 0
    (cd / && runuser -u postgres -- test -x "$1" -a -r "$1") 2>/dev/null
}

# Characters that survive pg_ctl's shell and libpq's conninfo unquoted.
plain_path() { [[ "$1" =~ ^[A-Za-z0-9._/+@,:=~-]+$ ]]; }

# Is $1 a directory made by us: owned by the cluster owner, mode 700, not a symlink?
private_dir_ok() {
    [ -d "$1" ] && [ ! -L "$1" ] &&
        [ "$(stat -c '%U %a' "$1")" = "$PG_USER 700" ]
}

new_private_dir() { # PREFIX -> prints the new directory
    local d
    d=$(mktemp -d "/tmp/$1.XXXXXX")
    [ $IS_ROOT -eq 1 ] && chown postgres: "$d"
    chmod 700 "$d"
    echo "$d"
}

# Resolves DIR and sets CLUSTER (holds data/ and log), SOCKDIR (the socket's
# directory, may be empty when not yet decided and $create is 0).
resolve() { # DIR CREATE(0|1)
    local create=$2 link target
    DIR=$(realpath -m -- "$1")
    if [ "$create" -eq 1 ]; then
        mkdir -p -- "$DIR"
    elif [ ! -d "$DIR" ]; then
        CLUSTER=$DIR SOCKDIR=$DIR DATA=$DIR/data
        return
    fi

    # Where the cluster lives.
    link=$DIR/cluster
    CLUSTER=$DIR
    if [ -L "$link" ]; then
        target=$(readlink -- "$link")
        if private_dir_ok "$target"; then
            CLUSTER=$target
        elif [ "$create" -eq 1 ]; then
            # /tmp was cleaned (a reboot) or the target is not ours: start afresh.
            rm -f -- "$link"
            CLUSTER=$(new_private_dir regain-pg)
            ln -s -- "$CLUSTER" "$link"
            note "the cluster that $link pointed to is gone or not ours; a new one is in $CLUSTER"
        else
            CLUSTER=$target
        fi
    elif [ "$create" -eq 1 ] && [ ! -d "$DIR/data" ] &&
         { ! owner_can_reach "$DIR" || ! plain_path "$DIR"; }; then
        CLUSTER=$(new_private_dir regain-pg)
        ln -s -- "$CLUSTER" "$link"
        if plain_path "$DIR"; then
            note "user postgres cannot reach $DIR (a parent directory is not searchable by it),"
        else
            note "$DIR contains characters that pg_ctl and libpq would need quoted,"
        fi
        note "so the cluster lives in $CLUSTER and $link points to it."
        note "It is lost when /tmp is cleaned; \`pg.sh start\` then makes a new one."
    fi
    if [ "$create" -eq 1 ] && [ "$CLUSTER" = "$DIR" ]; then
        [ $IS_ROOT -eq 1 ] && chown postgres: "$DIR"
        chmod 700 "$DIR"
    fi

    # Where the socket lives.
    SOCKDIR=$CLUSTER
    if [ $((${#CLUSTER} + 1 + ${#SOCKET_NAME})) -gt $SOCKET_MAX ]; then
        link=$DIR/socket
        SOCKDIR=
        if [ -L "$link" ] && private_dir_ok "$(readlink -- "$link")"; then
            SOCKDIR=$(readlink -- "$link")
        elif [ "$create" -eq 1 ]; then
            rm -f -- "$link"
            SOCKDIR=$(new_private_dir regain-pgsock)
            ln -s -- "$SOCKDIR" "$link"
            note "$CLUSTER is too long for a Unix socket path; the socket is in $SOCKDIR ($link points to it)"
        elif [ -L "$link" ]; then
            SOCKDIR=$(readlink -- "$link")
        fi
    fi
    DATA=$CLUSTER/data
}

BINDIR=$(find_bindir)

pg_running() { # exit 0 if the server of $DATA runs
    [ -f "$DATA/PG_VERSION" ] || return 1
    as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# After a kill -9 or a crash, postmaster.pid stays behind. PostgreSQL treats it
# as live if any process has that PID, and in containers PIDs are reused
# quickly, so check that the PID really is a postmaster of this data directory.
clear_stale_pid() {
    local pidfile=$DATA/postmaster.pid pid cmd
    [ -f "$pidfile" ] || return 0
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ]; then
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
        # pg_ctl starts the postmaster with -D and our absolute path.
        case $cmd in *postgres*" -D $DATA "* | *postgres*" -D $DATA") return 0 ;; esac
    fi
    note "removing stale $pidfile (PID ${pid:-?} is not a running postmaster of this cluster)"
    rm -f -- "$pidfile"
    [ -n "$SOCKDIR" ] && rm -f -- "$SOCKDIR/$SOCKET_NAME" "$SOCKDIR/$SOCKET_NAME.lock"
}

psql_admin() { # SQL -> runs against database postgres, prints tuples only
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -tA \
        "host=$SOCKDIR user=regain dbname=postgres options=-cclient_min_messages=warning" -c "$1"
}

# Database names are identifiers; refuse anything that would need quoting.
check_dbname() {
    [[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] ||
        die "database name '$1' must match [a-z_][a-z0-9_]* (at most 63 characters)"
}

db_exists() {
    [ "$(psql_admin "select 1 from pg_database where datname = '$1'")" = 1 ]
}

createdb_if_missing() {
    check_dbname "$1"
    db_exists "$1" || psql_admin "create database $1"
}

cmd_start() {
    resolve "$1" 1
    if [ ! -f "$DATA/PG_VERSION" ]; then
        [ -e "$DATA" ] && die "$DATA exists but is not a PostgreSQL data directory; remove it"
        local sync=()
        [ "${PG_FAST:-0}" = 1 ] && sync=(--no-sync)
        note "initialising a new cluster in $DATA"
        as_owner "$BINDIR/initdb" -D "$DATA" -A trust -U regain -E UTF8 --locale=C.UTF-8 \
            "${sync[@]}" >"$CLUSTER/initdb.log" 2>&1 ||
            { cat "$CLUSTER/initdb.log" >&2; die "initdb failed"; }
        # Settings that belong to the cluster; the socket directory is given
        # at each start because it may move (see resolve).
        as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<'CONF'

# Added by regain's scripts/pg.sh: Unix socket only, no TCP.
listen_addresses = ''
CONF
    fi

    if pg_running; then
        createdb_if_missing regain
        return 0
    fi
    clear_stale_pid

    local opts="-k $SOCKDIR"
    if [ "${PG_FAST:-0}" = 1 ]; then
        opts+=" -c fsync=off -c full_page_writes=off"
    fi
    if ! as_owner "$BINDIR/pg_ctl" start -w -t 60 -D "$DATA" -l "$CLUSTER/log" -o "$opts" >/dev/null; then
        tail -n 20 "$CLUSTER/log" >&2 || true
        die "PostgreSQL did not start; the log is $CLUSTER/log"
    fi
    createdb_if_missing regain
}

cmd_stop() {
    resolve "$1" 0
    pg_running || return 0
    as_owner "$BINDIR/pg_ctl" stop -w -t 60 -m fast -D "$DATA" >/dev/null
}

cmd_status() {
    resolve "$1" 0
    if pg_running; then
        echo "running: data $DATA, socket $SOCKDIR/$SOCKET_NAME"
        return 0
    elif [ -f "$DATA/PG_VERSION" ]; then
        echo "stopped: data $DATA"
    else
        echo "no cluster in $DIR"
    fi
    return 3
}

cmd_url() {
    resolve "$1" 0
    local db=${2:-regain}
    check_dbname "$db"
    [ -n "$SOCKDIR" ] || die "the socket directory for $DIR is chosen at start; run pg.sh start first"
    echo "host=$SOCKDIR user=regain dbname=$db"
}

cmd_createdb() {
    resolve "$1" 0
    pg_running || die "not running; run pg.sh start $1 first"
    createdb_if_missing "$2"
}

cmd_dropdb() {
    resolve "$1" 0
    check_dbname "$2"
    [ "$2" = postgres ] && die "refusing to drop database postgres"
    pg_running || die "not running; run pg.sh start $1 first"
    psql_admin "drop database if exists $2 with (force)"
}

cmd_destroy() {
    cmd_stop "$1"
    resolve "$1" 0
    [ -d "$DIR" ] || return 0
    # Only what resolve found through our own symlinks, and DIR itself.
    [ "$CLUSTER" != "$DIR" ] && [ -L "$DIR/cluster" ] && rm -rf -- "$CLUSTER"
    [ -n "$SOCKDIR" ] && [ "$SOCKDIR" != "$CLUSTER" ] && [ -L "$DIR/socket" ] && rm -rf -- "$SOCKDIR"
    rm -rf -- "$DIR"
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
start | stop | status | destroy)
    [ $# -eq 1 ] || usage
    "cmd_$cmd" "$1" ;;
url)
    [ $# -le 2 ] || usage
    cmd_url "$@" ;;
createdb | dropdb)
    [ $# -eq 2 ] || usage
    "cmd_$cmd" "$1" "$2" ;;
*) usage ;;
esac
