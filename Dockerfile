# syntax=docker/dockerfile:1
# regain container image: a build stage with the -dev packages, and a small
# runtime stage with only the shared libraries, running as user "regain".
#
#   docker build -t regain .
#   docker run --rm -p 127.0.0.1:8443:8443 -p 127.0.0.1:8080:8080 \
#     -e REGAIN_DATABASE_URL='host=... user=... password=... dbname=...' \
#     -e REGAIN_KEY_ENCRYPTION_KEY="$(openssl rand -base64 32)" regain
#
# The config is /etc/regain/config.json (docker/config.json; mount your own to
# change it). Without a certificate in /var/lib/regain/tls, a self-signed one
# for localhost is made at start: mount a real one for anything but a trial.
# Arguments other than "serve" run the regain CLI: `docker run regain version`.

FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libh2o-evloop-dev libjwt-dev libssl-dev libpq-dev libyajl-dev \
      libcbor-dev libqrencode-dev libargon2-dev libutf8proc-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build/regain && strip build/regain

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libh2o-evloop0.13 libjwt0 libssl3 libpq5 libyajl2 libcbor0.8 libqrencode4 libargon2-1 libutf8proc2 zlib1g \
      ca-certificates curl openssl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/regain \
      --shell /usr/sbin/nologin regain \
 && install -d -o regain -g regain -m 0700 /var/lib/regain /var/lib/regain/tls

COPY --from=build /src/build/regain /usr/local/bin/regain
COPY docker/config.json /etc/regain/config.json
COPY <<'SH' /usr/local/bin/regain-entrypoint
#!/bin/sh
# "serve" (the default): make a self-signed certificate if none is mounted,
# apply the migrations, then become the server. Anything else: the regain CLI.
set -eu
config=/etc/regain/config.json
if [ "$#" -gt 0 ] && [ "$1" != serve ]; then
    exec regain "$@"
fi
tls=/var/lib/regain/tls
if [ ! -s "$tls/cert.pem" ] || [ ! -s "$tls/key.pem" ]; then
    echo "regain-entrypoint: no certificate in $tls; making a self-signed one for localhost" >&2
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tls/key.pem" -out "$tls/cert.pem" -days 30 -sha256 \
        -subj "/CN=localhost/O=regain development" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null
    umask 022
fi
regain migrate --config "$config"
exec regain serve --config "$config"
SH
RUN chmod 0755 /usr/local/bin/regain-entrypoint

USER regain
WORKDIR /var/lib/regain
EXPOSE 8443 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/regain-entrypoint"]
CMD ["serve"]
