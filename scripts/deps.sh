#!/usr/bin/env bash
# Installs the Debian 12 packages regain needs to build, test and run.
# Runs before every `make run` / `make test`, so the common case (nothing
# missing) prints nothing and returns at once.
#
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command to run and fails.
set -euo pipefail

# One package per word; extend here.
PACKAGES="
  build-essential pkg-config
  libh2o-evloop-dev libh2o-dev libjwt-dev libssl-dev libpq-dev libyajl-dev
  libcbor-dev libqrencode-dev libargon2-dev libcmocka-dev libutf8proc-dev zlib1g-dev
  postgresql-15 postgresql-client-15
  nghttp2-client wrk curl openssl ca-certificates jq python3 iproute2
  clang libclang-rt-14-dev clang-format
  nodejs npm python3-authlib python3-requests python3-cryptography python3-hpack
  chromium
"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found; regain's scripts expect Debian 12." >&2
    # shellcheck disable=SC2086 # one word per package
    echo "deps.sh: install the equivalent of:" $PACKAGES >&2
    exit 1
fi

# One dpkg-query call for all packages; unknown packages print nothing on
# stdout (an error on stderr), so they count as missing below.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PACKAGES 2>/dev/null |
            awk '$2 == "installed" { print $1 }' || true)

missing=()
for p in $PACKAGES; do
    # NodeSource's nodejs bundles npm (and conflicts with Debian's package).
    [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "regain needs these Debian packages, which are not installed:" >&2
    echo "  ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Installing postgresql-15 would otherwise start Debian's own "main" cluster on
# port 5432. regain runs a private cluster (scripts/pg.sh), and CI must leave
# nothing running, so deny service starts for the length of the install unless
# the machine already has a policy (Docker images usually do).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# temporary, from regain scripts/deps.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
