"""Operations surface: /healthz, /readyz, /metrics, and the access log.

Prometheus counters move with traffic, the pool gauges and the latency
histogram exist, and every request leaves one JSON access-log line on stderr
whose request_id matches the x-request-id header and whose path carries no
query values (no secrets in logs)."""

import json
import re
import time

from harness import check, check_eq, curl, require, run, wait_until

SECRET = "s3cr3t-code-5f1d9a"
METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; None when a line is not valid."""
    out = {}
    bad = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        if not m:
            bad.append(line)
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            bad.append(line)
    return out, bad


def find(metrics, name, **labels):
    want = set(labels.items())
    return [(lb, v) for (n, lb), v in metrics.items() if n == name and want <= set(lb)]


def requests_total(metrics, route, status):
    return sum(v for _, v in find(metrics, "regain_http_requests_total", route=route, status=status))


def access_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "request_id" in doc and "status" in doc:
            out.append(doc)
    return out


def main(env):
    srv = env.regain()

    r = curl("--http1.1", srv.http("/healthz"))
    check_eq("/healthz 200", r.status, 200)
    r = curl("--http2", "-k", srv.https("/readyz"))
    check_eq("/readyz 200 with the database up", r.status, 200)

    r = curl("--http1.1", srv.http("/metrics"))
    require("/metrics 200", r.status == 200, r.describe())
    ct = r.header("content-type") or ""
    check("/metrics content-type is Prometheus text",
          ct.startswith("text/plain") and ("version=0.0.4" in ct or ct.strip() == "text/plain"), ct)
    m1, bad = parse_metrics(r.text)
    check("/metrics: every sample line parses", not bad, "\n".join(bad[:10]))
    check("/metrics: # TYPE lines present", "# TYPE regain_http_requests_total counter" in r.text,
          r.text[:1500])
    for name in ("regain_db_pool_size", "regain_db_pool_in_use", "regain_db_pool_waiting", "regain_db_errors_total",
                 "regain_worker_backlog"):
        check("/metrics has %s" % name, bool(find(m1, name)), r.text[:2000])
    ps = find(m1, "regain_db_pool_size")
    check("regain_db_pool_size reflects pool_size (2 per thread or in total)",
          ps and sum(v for _, v in ps) >= 2, repr(ps))
    hist = find(m1, "regain_http_request_duration_seconds_bucket")
    check("request duration histogram has buckets", len(hist) >= 2, r.text[:2000])
    check("histogram has an +Inf bucket", any(("le", "+Inf") in lb for lb, _ in hist), repr(hist[:5]))
    check("histogram _count and _sum present",
          bool(find(m1, "regain_http_request_duration_seconds_count"))
          and bool(find(m1, "regain_http_request_duration_seconds_sum")), r.text[:2000])

    before = requests_total(m1, "/jwks.json", "200")
    before404 = sum(v for _, v in find(m1, "regain_http_requests_total", status="404"))
    for _ in range(3):
        curl("--http1.1", srv.http("/jwks.json"))
    curl("--http2-prior-knowledge", srv.http("/jwks.json"))
    curl("--http2", "-k", srv.https("/jwks.json"))
    curl("--http1.1", srv.http("/no-such-route"))
    # Counters are per thread and summed on scrape: read until they settle.
    def scrape():
        rr = curl("--http1.1", srv.http("/metrics"))
        return parse_metrics(rr.text)[0]
    m2 = wait_until(lambda: (lambda m: m if requests_total(m, "/jwks.json", "200") >= before + 5 else None)(scrape()), 3)
    m2 = m2 or scrape()
    check_eq("regain_http_requests_total{route=\"/jwks.json\",status=\"200\"} grew by 5",
             requests_total(m2, "/jwks.json", "200") - before, 5.0)
    check("a 404 is counted", sum(v for _, v in find(m2, "regain_http_requests_total", status="404")) > before404,
          repr(find(m2, "regain_http_requests_total", status="404")))
    h_before = sum(v for _, v in find(m1, "regain_http_request_duration_seconds_count"))
    h_after = sum(v for _, v in find(m2, "regain_http_request_duration_seconds_count"))
    check("histogram count grew", h_after > h_before, "%s -> %s" % (h_before, h_after))

    # ---- access log
    r = curl("--http1.1", srv.http("/jwks.json?code=%s&state=abc" % SECRET))
    rid = r.header("x-request-id")
    check("x-request-id on the logged request", bool(rid), r.describe())
    r2 = curl("--http2", "-k", srv.https("/.well-known/openid-configuration"))
    rid2 = r2.header("x-request-id")
    check("x-request-ids differ between requests", rid and rid2 and rid != rid2, "%r %r" % (rid, rid2))

    def logged():
        lines = access_lines(srv.stderr())
        return [d for d in lines if d.get("request_id") == rid2] and lines
    lines = wait_until(logged, 3) or access_lines(srv.stderr())
    check("access log lines are JSON on stderr", len(lines) >= 8, srv.stderr()[-2000:])
    mine = [d for d in lines if d.get("request_id") == rid]
    require("one access-log line with request_id == x-request-id", len(mine) == 1,
            "rid %r; lines: %s" % (rid, json.dumps(lines[-5:])))
    d = mine[0]
    for field in ("time", "request_id", "method", "path", "status", "duration_ms", "protocol"):
        check("access log has %s" % field, field in d, json.dumps(d))
    check_eq("access log method", d.get("method"), "GET")
    check_eq("access log status", d.get("status"), 200)
    check("access log path has no query values", d.get("path") in ("/jwks.json", "/jwks.json?code&state",
                                                                   "/jwks.json?code=&state="), json.dumps(d))
    check("access log duration_ms is a number", isinstance(d.get("duration_ms"), (int, float)), json.dumps(d))
    check("access log protocol names HTTP/1.1", "1.1" in str(d.get("protocol")), json.dumps(d))
    other = [x for x in lines if x.get("request_id") == rid2]
    check("h2 request logged with its request id and protocol HTTP/2",
          len(other) == 1 and "2" in str(other[0].get("protocol")), json.dumps(other))
    check("secret query value never reaches stderr", SECRET not in srv.stderr(), "found in stderr")
    check("time looks like RFC 3339", isinstance(d.get("time"), str)
          and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", d["time"]) is not None, json.dumps(d))

    # One line per request: 404 and metrics scrapes included.
    count = len(access_lines(srv.stderr()))
    curl("--http1.1", srv.http("/healthz"))
    time.sleep(0.3)
    check_eq("exactly one access-log line per request", len(access_lines(srv.stderr())) - count, 1)

    srv.stop()
    check("secret query value not in stderr after shutdown", SECRET not in srv.stderr(), "found")


if __name__ == "__main__":
    run(main)
