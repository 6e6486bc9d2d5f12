"""`make bench` helper for tests/bench/scim.sh (standard library only).

  scim_load.py load  PORT CLIENT SECRET USERS BATCH CONC MAX_SECONDS IDS_FILE
      POST /scim/v2/Bulk with BATCH user creations per request, CONC requests
      in flight (one HTTP/1.1 keep-alive connection each), until USERS are
      created or MAX_SECONDS pass.  Users user0000000.. with a work email.
      Writes the ids of the first 100,001 users to IDS_FILE (index order) and
      prints one line: "loaded N seconds S rate R errors E requests Q".

  scim_load.py group PORT CLIENT SECRET IDS_FILE MEMBERS CHUNK
      Creates group "bench-big" and adds the first MEMBERS users with PATCH
      (CHUNK per request); prints "group ID seconds S".

  scim_load.py walk PORT CLIENT SECRET SECONDS LAT_FILE
      Follows nextCursor (RFC 9865) through sortBy=userName&count=100 pages
      for SECONDS, one request at a time; writes each page's latency in
      microseconds to LAT_FILE; prints "pages N depth D bad B first_ms F
      last_ms L" (D: users paged through).

  scim_load.py patch PORT CLIENT SECRET IDS_FILE GROUP_ID ROUNDS LAT_FILE
      ROUNDS times: PATCH add one member (user MEMBERS+1, not in the group),
      then PATCH remove it; one connection, one request at a time; writes
      each request's latency in microseconds to LAT_FILE; prints "ok N bad B".
"""

import base64
import http.client
import json
import sys
import threading
import time
from urllib.parse import quote

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
KEEP_IDS = 100001


class Api:
    def __init__(self, port, client, secret):
        self.port, self.client, self.secret = port, client, secret
        self.conn = None
        self.token = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def fetch_token(self):
        basic = base64.b64encode(("%s:%s" % (quote(self.client, safe=""), quote(self.secret, safe=""))).encode())
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", "/token", body="grant_type=client_credentials&scope=scim",
                  headers={"Authorization": "Basic " + basic.decode(),
                           "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise SystemExit("token: %d %s" % (r.status, body[:200]))
        self.token = json.loads(body)["access_token"]

    def call(self, method, path, body=None):
        """(status, body bytes); reconnects once and refreshes an expired token."""
        if self.token is None:
            self.fetch_token()
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        for attempt in range(3):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=data, headers={
                    "Authorization": "Bearer " + self.token, "Content-Type": "application/scim+json",
                    "Accept": "application/scim+json"})
                r = self.conn.getresponse()
                out = r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if r.status == 401 and attempt < 2:
                self.fetch_token()
                continue
            return r.status, out
        return 0, b""


def user(i):
    n = "user%07d" % i
    return {"schemas": [USER], "userName": n, "externalId": "ext-%07d" % i,
            "name": {"givenName": "Given%d" % (i % 1000), "familyName": "Family%d" % (i // 1000)},
            "displayName": "User %d" % i, "active": True,
            "emails": [{"type": "work", "value": n + "@corp%d.example" % (i % 50), "primary": True}]}


def load(port, client, secret, users, batch, conc, max_seconds, ids_file):
    lock = threading.Lock()
    state = {"next": 0, "loaded": 0, "errors": 0, "requests": 0, "sample": None}
    ids = [None] * min(users, KEEP_IDS)
    deadline = time.time() + max_seconds

    def worker():
        api = Api(port, client, secret)
        while True:
            with lock:
                start = state["next"]
                if start >= users or time.time() > deadline:
                    return
                state["next"] = start + batch
            end = min(start + batch, users)
            ops = [{"method": "POST", "path": "/Users", "bulkId": "u%d" % i, "data": user(i)}
                   for i in range(start, end)]
            status, out = api.call("POST", "/scim/v2/Bulk", {"schemas": [BULK], "Operations": ops})
            ok = bad = 0
            if status == 200:
                for k, op in enumerate(json.loads(out).get("Operations", [])):
                    if op.get("status") == "201":
                        ok += 1
                        i = start + k
                        if i < len(ids):
                            ids[i] = (op.get("location") or "").rsplit("/", 1)[-1]
                    else:
                        bad += 1
                        if state["sample"] is None:
                            state["sample"] = json.dumps(op)[:300]
            else:
                bad = end - start
                if state["sample"] is None:
                    state["sample"] = "HTTP %d %s" % (status, out[:300])
            with lock:
                state["loaded"] += ok
                state["errors"] += bad
                state["requests"] += 1

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    with open(ids_file, "w") as f:
        for x in ids:
            f.write((x or "") + "\n")
    print("loaded %d seconds %.1f rate %.0f errors %d requests %d" % (
        state["loaded"], secs, state["loaded"] / secs if secs else 0, state["errors"], state["requests"]))
    if state["sample"]:
        print("first error: %s" % state["sample"], file=sys.stderr)


def read_ids(ids_file):
    with open(ids_file) as f:
        return [x.strip() for x in f]


def group(port, client, secret, ids_file, members, chunk):
    api = Api(port, client, secret)
    ids = [x for x in read_ids(ids_file)[:members] if x]
    t0 = time.time()
    status, out = api.call("POST", "/scim/v2/Groups", {"schemas": [GROUP], "displayName": "bench-big"})
    if status != 201:
        raise SystemExit("create group: %d %s" % (status, out[:300]))
    gid = json.loads(out)["id"]
    for k in range(0, len(ids), chunk):
        body = {"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": x} for x in ids[k:k + chunk]]}]}
        status, out = api.call("PATCH", "/scim/v2/Groups/" + gid, body)
        if status not in (200, 204):
            raise SystemExit("add members %d..: %d %s" % (k, status, out[:300]))
    print("group %s members %d seconds %.1f" % (gid, len(ids), time.time() - t0))


def patch(port, client, secret, ids_file, gid, rounds, lat_file):
    api = Api(port, client, secret)
    ids = read_ids(ids_file)
    extra = [x for x in ids if x][-1]  # the last id kept: not among the group's members
    ok = bad = 0
    with open(lat_file, "w") as f:
        for _ in range(rounds):
            for body in ({"op": "add", "path": "members", "value": [{"value": extra}]},
                         {"op": "remove", "path": 'members[value eq "%s"]' % extra}):
                t0 = time.perf_counter()
                status, _ = api.call("PATCH", "/scim/v2/Groups/" + gid,
                                     {"schemas": [PATCH_OP], "Operations": [body]})
                f.write("%d\n" % ((time.perf_counter() - t0) * 1e6))
                if status in (200, 204):
                    ok += 1
                else:
                    bad += 1
    print("ok %d bad %d" % (ok, bad))


def walk(port, client, secret, seconds, lat_file):
    """Follows nextCursor from the first page of sortBy=userName&count=100 for
    SECONDS, one request at a time: every page is a keyset (cursor) page, so
    the walk shows whether latency grows with depth."""
    api = Api(port, client, secret)
    cursor, pages, depth, bad = "", 0, 0, 0
    deadline = time.time() + seconds
    first = last = None
    with open(lat_file, "w") as f:
        while time.time() < deadline:
            t0 = time.perf_counter()
            status, out = api.call("GET", "/scim/v2/Users?sortBy=userName&count=100&cursor=" + quote(cursor, safe=""))
            us = (time.perf_counter() - t0) * 1e6
            if status != 200:
                bad += 1
                break
            body = json.loads(out)
            f.write("%d\n" % us)
            pages += 1
            depth += body.get("itemsPerPage", 0)
            first = first if first is not None else us
            last = us
            cursor = body.get("nextCursor") or ""
            if not cursor:
                break
    print("pages %d depth %d bad %d first_ms %.1f last_ms %.1f" % (
        pages, depth, bad, (first or 0) / 1000, (last or 0) / 1000))


def main():
    mode, port, client, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    a = sys.argv[5:]
    if mode == "load":
        load(port, client, secret, int(a[0]), int(a[1]), int(a[2]), float(a[3]), a[4])
    elif mode == "group":
        group(port, client, secret, a[0], int(a[1]), int(a[2]))
    elif mode == "patch":
        patch(port, client, secret, a[0], a[1], int(a[2]), a[3])
    elif mode == "walk":
        walk(port, client, secret, float(a[0]), a[1])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
