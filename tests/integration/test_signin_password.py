"""Password sign-in (issue 3): users from the CLI, the sign-in page, POST /login
with CSRF, sessions and their cookie, identical failures, throttling per
account and per address, and Argon2id off the event loop.

Over TLS with Python's http.client (the cookies are Secure and `__Host-`).
Each scenario connects from its own loopback source address (127.0.0.N), so
the per-address throttle of one does not leak into another."""

import http.client
import json
import re
import socket
import statistics
import threading
import time
import urllib.parse

from authorize_browser import CTX, Reply
from harness import SLOW, check, check_eq, psql, regain_bin, require, run, sh

MAX_FAILURES = 5
ADDR_MAX_FAILURES = 9  # an address gets a higher limit than an account
SESSION_TTL = 3600
# A higher time cost than the default makes "a verification on the loop"
# visible as a /healthz stall (t=6: roughly 100 ms per check).
ARGON2_T = 6

def request(srv, method, path, src, body=None, cookies=None, timeout=30):
    conn = http.client.HTTPSConnection("127.0.0.1", srv.tls_port, context=CTX, timeout=timeout * SLOW,
                                       source_address=(src, 0))
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    if body is not None:
        body = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, [(k.lower(), v) for k, v in resp.getheaders()], data, time.monotonic() - t0)
    finally:
        conn.close()


def field_value(html, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


class Browser:
    """One browser: its own cookie jar and source address."""

    def __init__(self, srv, src):
        self.srv = srv
        self.src = src
        self.jar = {}

    def get(self, path):
        r = request(self.srv, "GET", path, self.src, cookies=self.jar)
        self.keep(r)
        return r

    def post(self, path, form):
        r = request(self.srv, "POST", path, self.src, body=form, cookies=self.jar)
        self.keep(r)
        return r

    def keep(self, r):
        for name, (value, attrs) in r.set_cookies().items():
            if any(a.lower() == "max-age=0" for a in attrs):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def login(self, request_id, username, password):
        """GET the form, then POST it: returns the POST's reply."""
        page = self.get("/login?request=" + request_id)
        csrf = field_value(page.text, "csrf")
        return self.post("/login", {"request": request_id, "csrf": csrf or "", "username": username,
                                    "password": password})


def main(env):
    srv = env.regain({"oidc": {"throttle_max_failures": MAX_FAILURES,
                               "throttle_addr_max_failures": ADDR_MAX_FAILURES, "throttle_window_s": 600,
                               "throttle_lockout_s": 600, "session_ttl_s": SESSION_TTL,
                               "argon2_t": ARGON2_T}})
    db = env.db_url

    def sql(q):
        rc, rows, err = psql(db, q)
        require("SQL ok: %s" % q[:60], rc == 0, err)
        return rows

    # ---- users from the CLI ------------------------------------------------
    p = sh([regain_bin(), "user", "add", "--username", "Alice", "--given-name", "Alice", "--family-name",
            "Liddell", "--email", "alice@example.com", "--email-verified", "--password-stdin", "--config",
            srv.config_path], input="wonderland 1\n", timeout=60 * SLOW)
    require("user add (password on stdin) exits 0", p.returncode == 0, p.stderr)
    alice_id = p.stdout.strip()
    check("user add prints the new id (a uuid)",
          re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", alice_id), p.stdout)
    p = srv.cli("user", "add", "--username", "ALICE", "--password", "other")
    check_eq("a duplicate username (other case) exits 1", p.returncode, 1)
    check("... with a clear message", "already taken" in p.stderr, p.stderr)
    rows = sql("select password_hash, email_verified from users where id = '%s'" % alice_id)
    check("the stored password hash is Argon2id (PHC string)", rows and rows[0][0].startswith("$argon2id$v=19$"),
          rows)
    check("the hash uses the configured cost", rows and ("t=%d," % ARGON2_T) in rows[0][0], rows)
    check("the password itself is not stored", rows and "wonderland" not in rows[0][0], rows)
    check_eq("--email-verified is stored", rows[0][1] if rows else None, "t")
    for name, pw in (("bob", "builder 2"), ("carol", "carol pw 3"), ("erin", "erin pw 4")):
        p = srv.cli("user", "add", "--username", name, "--password", pw)
        require("user add %s" % name, p.returncode == 0, p.stderr)
    p = srv.cli("user", "add", "--username", "dave")
    require("user add without a password", p.returncode == 0, p.stderr)
    sql("update users set active = false where user_name = 'carol'")
    p = srv.cli("user", "add", "--password", "x")
    check_eq("user add without --username is a usage error", p.returncode, 2)

    # ---- a client and pending authorization requests ------------------------
    sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris) "
        "values ('rp1', 'RP one', 'none', '{authorization_code}', '{openid}', '{https://rp.example/cb}')")

    def new_request(hint=None, ttl="10 minutes", required_sub=None):
        # A pending request as /authorize stores it (oidc_az_to_json): the
        # right password finishes it at once.
        req = {"client_id": "rp1", "redirect_uri": "https://rp.example/cb", "scope": "openid", "state": "st-1",
               "nonce": "n-1", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "prompt": 0,
               "max_age": -1}
        if hint:
            req["login_hint"] = hint
        if required_sub:
            req["required_sub"] = required_sub
        params = json.dumps(req)
        rows = sql("insert into authorization_requests (client_id, params, expires_at) values "
                   "('rp1', '%s', now() + interval '%s') returning id" % (params, ttl))
        return rows[0][0]

    # ---- the page ----------------------------------------------------------
    b = Browser(srv, "127.0.0.10")
    rid = new_request(hint="Alice")
    page = b.get("/login?request=" + rid)
    check_eq("GET /login?request=<pending> is 200", page.status, 200)
    check("... text/html", (page.header("content-type") or "").startswith("text/html"), page)
    check("... no-store", "no-store" in (page.header("cache-control") or ""), page)
    csp = page.header("content-security-policy") or ""
    check("... the page CSP (no inline script or style)",
          "script-src 'self'" in csp and "unsafe-inline" not in csp, csp)
    check("... a post form to /login", '<form method="post" action="/login">' in page.text, page)
    check("... username field with autocomplete=username",
          re.search(r'<input[^>]*name="username"[^>]*autocomplete="username( webauthn)?"', page.text), page)
    check("... password field with autocomplete=current-password",
          re.search(r'<input[^>]*name="password"[^>]*type="password"[^>]*autocomplete="current-password"',
                    page.text), page)
    check_eq("... the hidden request field", field_value(page.text, "request"), rid)
    check("... a CSRF token field", field_value(page.text, "csrf"), page)
    check_eq("... login_hint filled in", field_value(page.text, "username"), "Alice")
    check("... labels, lang and viewport", '<label for="username">' in page.text and 'lang="en"' in page.text
          and 'name="viewport"' in page.text, page)
    check("... no inline script or style (the one script is a same-origin file)",
          re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/passkey.js" defer>']
          and "<style" not in page.text and "style=" not in page.text, page)
    sc = page.set_cookies().get("__Host-regain-csrf")
    check("... sets a __Host- CSRF cookie: Secure, HttpOnly, Path=/, no Domain",
          sc and "Secure" in sc[1] and "HttpOnly" in sc[1] and "Path=/" in sc[1]
          and not any(a.lower().startswith("domain") for a in sc[1]), page.set_cookies())
    page2 = b.get("/login?request=" + rid)
    check("a second GET keeps the browser's CSRF cookie", "__Host-regain-csrf" not in page2.set_cookies(),
          page2.set_cookies())
    css = b.get("/static/regain.css")
    check_eq("GET /static/regain.css is 200", css.status, 200)
    check("... text/css", (css.header("content-type") or "").startswith("text/css"), css)
    check_eq("... cached a day", css.header("cache-control"), "public, max-age=86400")
    bad = b.get("/login?request=not-a-uuid")
    check_eq("GET /login with a malformed request id is 400", bad.status, 400)
    gone = b.get("/login?request=" + new_request(ttl="-1 minutes"))
    check_eq("GET /login for an expired request is 400", gone.status, 400)
    check("... an HTML error page", "<h1>" in gone.text and "expired" in gone.text, gone)
    unknown = b.get("/login?request=00000000-0000-4000-8000-000000000000")
    check_eq("GET /login for an unknown request is 400", unknown.status, 400)

    # ---- a good sign-in ----------------------------------------------------
    r = b.login(rid, "alice", "wonderland 1")  # userName matches without regard to case
    check_eq("POST /login with the right password is 303", r.status, 303, )
    back = urllib.parse.urlsplit(r.header("location") or "")
    back_q = urllib.parse.parse_qs(back.query)
    check_eq("... straight back to the relying party with a code, its state and iss (RFC 9207)",
             (back.scheme, back.netloc, back.path, sorted(back_q), back_q.get("state"), back_q.get("iss")),
             ("https", "rp.example", "/cb", ["code", "iss", "state"], ["st-1"], [srv.issuer]))
    check_eq("... the request is used up", sql("select count(*) from authorization_requests where id = '%s'" % rid),
             [["0"]])
    check_eq("... audited as method.used, kind password, by alice, from her address",
             sql("select e.outcome, e.detail->>'kind', e.actor = 'user:' || u.id, host(e.client_addr) "
                 "from audit_events e join users u on u.id = e.subject_user "
                 "where e.type = 'method.used' and u.user_name = 'Alice'"),
             [["success", "password", "t", "127.0.0.10"]])
    sc = r.set_cookies().get("__Host-regain-session")
    require("... sets __Host-regain-session", sc is not None, r)
    attrs = [a.lower() for a in sc[1]]
    check("... Secure; HttpOnly; SameSite=Lax; Path=/; no Domain",
          "secure" in attrs and "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
          and not any(a.startswith("domain") for a in attrs), sc)
    check_eq("... Max-Age is the session lifetime", [a for a in attrs if a.startswith("max-age")],
             ["max-age=%d" % SESSION_TTL])
    check("... the cookie value is a 43-character secret", re.fullmatch(r"[A-Za-z0-9_-]{43}", sc[0]), sc)
    rows = sql("select amr, acr, round(extract(epoch from expires_at - auth_time)), ended_at is null, "
               "auth_time > now() - interval '1 minute' from sessions where user_id = '%s'" % alice_id)
    check_eq("one session row for alice", len(rows), 1)
    if rows:
        check_eq("... amr {pwd}", rows[0][0], "{pwd}")
        check_eq("... acr password", rows[0][1], "urn:regain:acr:password")
        check_eq("... expires after session_ttl_s", rows[0][2], str(SESSION_TTL))
        check("... live, auth_time now", rows[0][3] == "t" and rows[0][4] == "t", rows)
    rows = sql("select count(*) from sessions where encode(token_hash, 'escape') like '%%%s%%'" % sc[0])
    check_eq("the cookie value is not stored in the database", rows[0][0], "0")
    check_eq("... the code: alice's, of the new session, its auth_time to the second, acr password, amr {pwd}",
             sql("select c.user_id = s.user_id, c.session_id = s.id, "
                 "c.auth_time = to_timestamp(round(extract(epoch from s.auth_time))), c.acr, c.amr, "
                 "c.client_id, c.nonce, c.used_at is null from authorization_codes c, sessions s "
                 "where s.user_id = '%s'" % alice_id),
             [["t", "t", "t", "urn:regain:acr:password", "{pwd}", "rp1", "n-1", "t"]])
    check_eq("... alice's attempt is forgiven", sql("select count(*) from login_throttle where key = 'user:alice'"),
             [["0"]])

    # ---- a request for another account: the session alone, the sign-in page again ----
    other = Browser(srv, "127.0.0.11")
    rid_other = new_request(required_sub="00000000-0000-4000-8000-00000000000b")
    r = other.login(rid_other, "alice", "wonderland 1")
    check_eq("a request for another account: the sign-in page again (200)", r.status, 200)
    check("... for that request", field_value(r.text, "request") == rid_other, r.text[:400])
    check("... with a session for alice (she did sign in)", "__Host-regain-session" in r.set_cookies(), r)
    check_eq("... no code, the request still pending",
             sql("select (select count(*) from authorization_codes), "
                 "(select count(*) from authorization_requests where id = '%s')" % rid_other), [["1", "1"]])

    # ---- identical failures -------------------------------------------------
    def normalise(text, username):
        """The page without what legitimately differs: the name typed, the
        request id and the CSRF token (each browser has its own cookie)."""
        text = text.replace('value="%s"' % username, 'value=""')
        text = re.sub(r'name="request" value="[^"]*"', 'name="request" value=""', text)
        text = re.sub(r'data-(request|csrf)="[^"]*"', r'data-\1=""', text)
        text = re.sub(r'\?request=[0-9a-f-]{36}', '?request=', text)
        return re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value=""', text)

    wrong = Browser(srv, "127.0.0.11")
    nobody = Browser(srv, "127.0.0.12")
    rid2 = new_request()
    w, u = [], []
    for _ in range(3):
        w.append(wrong.login(rid2, "alice", "not the password"))
        u.append(nobody.login(rid2, "nobody-here", "not the password"))
    check("wrong password: page re-rendered, 200", all(x.status == 200 for x in w), w[0])
    check_eq("unknown user: same status as wrong password", u[0].status, w[0].status)
    check("... and the same body, modulo the username filled in and the CSRF token",
          normalise(w[0].text, "alice") == normalise(u[0].text, "nobody-here"),
          "%s\n----\n%s" % (w[0].text, u[0].text))
    check("... a neutral message with role=alert", 'role="alert"' in w[0].text and "Sign-in failed" in w[0].text,
          w[0])
    check("... no session cookie set", "__Host-regain-session" not in w[0].set_cookies(), w[0])
    tw = statistics.median(x.seconds for x in w)
    tu = statistics.median(x.seconds for x in u)
    check("... similar time (within a factor of 2): wrong %.0f ms, unknown %.0f ms" % (tw * 1e3, tu * 1e3),
          max(tw, tu) / max(min(tw, tu), 1e-6) < 2.0, "")

    def password_failures(name):
        return sql("select e.reason, e.outcome, e.detail->>'kind', host(e.client_addr) from audit_events e "
                   "join users u on u.id = e.subject_user where e.type = 'method.failed' "
                   "and lower(u.user_name) = lower('%s') order by e.id" % name)

    check_eq("each wrong password of alice is audited: method.failed, kind password, with the address",
             password_failures("alice"), [["wrong_password", "failure", "password", "127.0.0.11"]] * 3)
    check_eq("... a name that is nobody's records nothing",
             sql("select count(*) from audit_events where type = 'method.failed' and subject_user is null"),
             [["0"]])

    # Inactive user and a user without a password fail the same way.
    other = Browser(srv, "127.0.0.14")
    r = other.login(rid2, "carol", "carol pw 3")
    check("inactive user with the right password: the same failure",
          r.status == w[0].status and normalise(r.text, "carol") == normalise(w[0].text, "alice"), r)
    check_eq("... audited as account_inactive", [row[0] for row in password_failures("carol")],
             ["account_inactive"])
    r = other.login(rid2, "dave", "")
    check("an empty password asks for both fields", r.status == 200 and "Enter your username and password" in r.text,
          r)
    r = other.login(rid2, "dave", "anything")
    check("user without a password: the same failure",
          r.status == w[0].status and normalise(r.text, "dave") == normalise(w[0].text, "alice"), r)

    # ---- CSRF -----------------------------------------------------------------
    c = Browser(srv, "127.0.0.13")
    rid3 = new_request()
    page = c.get("/login?request=" + rid3)
    token = field_value(page.text, "csrf")
    good = {"request": rid3, "csrf": token, "username": "alice", "password": "wonderland 1"}
    r = request(srv, "POST", "/login", c.src, body=good)  # no cookie
    check_eq("POST without the CSRF cookie is refused (403)", r.status, 403)
    check("... no session cookie", "__Host-regain-session" not in r.set_cookies(), r)
    r = c.post("/login", dict(good, csrf=token[:-1] + ("A" if token[-1] != "A" else "B")))
    check_eq("POST with a wrong CSRF token is refused (403)", r.status, 403)
    r = c.post("/login", dict(good, csrf=""))
    check_eq("POST without the CSRF field is refused (403)", r.status, 403)
    r = c.post("/login", dict(good, request=rid2))
    check_eq("a token for another request is refused (403)", r.status, 403)
    r = c.post("/login", good)
    check_eq("the right token goes through (303)", r.status, 303)
    r = c.post("/login", dict(good, request="nonsense"))
    check_eq("a malformed request id is refused (400)", r.status, 400)

    # ---- a request that expires while its form is open ---------------------
    # The request check, the attempt counter and the user lookup are one
    # statement: a request that has gone must still count nothing.
    e = Browser(srv, "127.0.0.15")
    rid5 = new_request()
    page = e.get("/login?request=" + rid5)
    counters = "select key, failures from login_throttle where key in ('user:alice', 'addr:127.0.0.15') order by key"
    before = sql(counters)
    sql("update authorization_requests set expires_at = now() - interval '1 minute' where id = '%s'" % rid5)
    r = e.post("/login", {"request": rid5, "csrf": field_value(page.text, "csrf") or "", "username": "alice",
                          "password": "wonderland 1"})
    check("POST /login for a request that expired meanwhile: the expired page (400), no session",
          r.status == 400 and "expired" in r.text and "__Host-regain-session" not in r.set_cookies(), r)
    check_eq("... and no attempt counted, for the account or the address", sql(counters), before)
    r = e.post("/login", {"request": rid5, "csrf": field_value(page.text, "csrf") or "", "username": "",
                          "password": ""})
    check_eq("... empty fields for it: still the expired page first", r.status, 400)

    # ---- account throttle --------------------------------------------------
    rid4 = new_request()
    for i in range(MAX_FAILURES):
        Browser(srv, "127.0.0.%d" % (20 + i)).login(rid4, "bob", "wrong %d" % i)
    rows = sql("select failures, locked_until > now() from login_throttle where key = 'user:bob'")
    check("the account counter row exists in login_throttle", rows and int(rows[0][0]) >= MAX_FAILURES, rows)
    r = Browser(srv, "127.0.0.26").login(rid4, "bob", "builder 2")
    check("after %d failures the account is throttled, even with the right password" % MAX_FAILURES,
          r.status == w[0].status and normalise(r.text, "bob") == normalise(w[0].text, "alice"), r)
    rows = sql("select locked_until > now() from login_throttle where key = 'user:bob'")
    check_eq("... locked_until is set", rows[0][0] if rows else None, "t")
    reasons = [row[0] for row in password_failures("bob")]
    check("... every refusal audited: the wrong passwords, then the throttled right one",
          reasons[-1:] == ["throttled"] and reasons.count("wrong_password") >= MAX_FAILURES - 1, reasons)
    check_eq("... and no session for bob",
             sql("select count(*) from sessions s join users u on u.id = s.user_id where u.user_name = 'bob'")[0][0],
             "0")

    # ---- address throttle --------------------------------------------------
    a = Browser(srv, "127.0.0.30")
    rid5 = new_request()
    for i in range(MAX_FAILURES):
        a.login(rid5, "someone-%d" % i, "guess")
    r = a.login(rid5, "erin", "erin pw 4")
    check_eq("after %d failures (the account limit) one address is not yet throttled" % MAX_FAILURES, r.status, 303)
    rid5 = new_request()  # that sign-in finished the request
    a = Browser(srv, "127.0.0.30")
    for i in range(ADDR_MAX_FAILURES):
        a.login(rid5, "other-%d" % i, "guess")
    r = a.login(rid5, "erin", "erin pw 4")
    check("after %d failures from one address it is throttled, even with the right password" % ADDR_MAX_FAILURES,
          r.status == w[0].status and "Sign-in failed" in r.text, r)
    rows = sql("select failures, locked_until > now() from login_throttle where key = 'addr:127.0.0.30'")
    check("... the address counter row exists and is locked", rows and rows[0][1] == "t", rows)
    r = Browser(srv, "127.0.0.31").login(rid5, "erin", "erin pw 4")
    check_eq("... while the same account signs in from another address", r.status, 303)
    rows = sql("select count(*) from login_throttle where key = 'user:erin'")
    check_eq("... which clears the account counter", rows[0][0], "0")

    # ---- Argon2id runs off the loop -------------------------------------------
    t1 = Browser(srv, "127.0.0.40").login(new_request(), "nobody", "x").seconds
    stop = threading.Event()
    lat = []

    def poll():
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        while not stop.is_set():
            t0 = time.monotonic()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            lat.append(time.monotonic() - t0)
            time.sleep(0.005)
        conn.close()

    rid6 = new_request()
    results = []

    def one(i):
        results.append(Browser(srv, "127.0.1.%d" % (i + 1)).login(rid6, "nobody-%d" % i, "x").status)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    workers = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    burst = time.monotonic() - t0
    stop.set()
    poller.join()
    check("20 concurrent sign-ins all answered", results.count(200) == 20, results)
    worst = max(lat) if lat else 0
    check("/healthz stays fast while they run (worst %.0f ms; one sign-in %.0f ms, burst %.0f ms)"
          % (worst * 1e3, t1 * 1e3, burst * 1e3), lat and worst < max(0.05, t1 / 2) * SLOW, lat)

    # ---- clients that hang up mid-sign-in ---------------------------------------
    # The request dies while its query or its Argon2id job is in flight; the
    # job must not touch it afterwards (the sanitizer build checks).
    h = Browser(srv, "127.0.0.50")
    rid7 = new_request()
    token = field_value(h.get("/login?request=" + rid7).text, "csrf")
    body = urllib.parse.urlencode({"request": rid7, "csrf": token, "username": "dave", "password": "x"}).encode()
    head = ("POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\nCookie: __Host-regain-csrf=%s\r\n\r\n"
            % (len(body), h.jar["__Host-regain-csrf"])).encode()
    for delay in (0, 0.002, 0.01, 0.03, 0.06, 0.1):
        raw = socket.create_connection(("127.0.0.1", srv.tls_port), source_address=("127.0.0.50", 0))
        tls = CTX.wrap_socket(raw)
        tls.sendall(head + body)
        time.sleep(delay)
        tls.close()
    time.sleep(1.0 * SLOW)
    r = Browser(srv, "127.0.0.51").login(new_request(), "alice", "wonderland 1")
    check_eq("after clients hung up mid-sign-in, sign-in still works", r.status, 303)

    srv.stop()


run(main)
