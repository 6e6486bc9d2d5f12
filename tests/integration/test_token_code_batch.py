"""Code exchanges that arrive together are taken in one statement.

While a loop has a code exchange's statement in flight, the exchanges that
arrive meanwhile wait and then go as one batch (gateway/store_batch.c,
oidc/token_db.c OIDC_STMT_CODE_TAKE). Here one loop, and another session
holds a lock on the first code's row, so its exchange stays in flight while
ten more arrive: good codes of three users, a wrong verifier, another
client's code, a deactivated user's code, one code sent twice, an unknown
code, and one whose client gives up before the batch goes. Once the lock
goes, the nine that are still waiting must go in one batch, and each must
get its own answer: its own user and nonce in good tokens, invalid_grant for
each bad one, exactly one winner of the code sent twice (and its grant
revoked, as for any replay), nothing revoked for the unknown code, and the
code of the one who gave up untouched, to be exchanged later.

Exchanges that arrive in one turn of the loop go together too, even with
nothing in flight: six sent over one HTTP/2 connection in one write make one
batch of six, each answered with its own user's tokens. A batch whose
backend is ended fails its caller and counts one failed call per caller."""

import json
import re
import socket
import ssl
import struct
import threading
import urllib.parse

from harness import SLOW, check, check_eq, curl, psql, require, run, wait_until, waiting_for_lock
from tokens_fixture import (RowLock, add_client, add_code, add_session, add_user, at_hash, code_form, error,
                            families_revoked, jwt_parts, lit, secret_hash_hex, sql, token, userinfo, verify_sig)

WAIT_S = 10 * SLOW


def metric(srv, name):
    r = curl("--http1.1", srv.http("/metrics"))
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.text or "", re.M)
    return int(m.group(1)) if m else None


def locked_by_other_session(env):
    rc, rows, _ = psql(env.db_url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                                   "AND query LIKE 'SELECT 1 FROM authorization_codes%'")
    return rc == 0 and rows == [["1"]]


def unused(env, code):
    return sql(env, "SELECT used_at IS NULL FROM authorization_codes WHERE code_hash = %s::bytea"
               % lit(secret_hash_hex(env, code))) == [["t"]]


def code_lock(env, code):
    """Another session holding the row of `code` until release()."""
    lock = RowLock(env, "SELECT 1 FROM authorization_codes WHERE code_hash = %s::bytea"
                   % lit(secret_hash_hex(env, code)))
    require("another session holds the code's row", wait_until(lambda: locked_by_other_session(env), WAIT_S))
    return lock


def release(lock):
    check_eq("the locking session ended cleanly", lock.release(), 0)


class Exchange:
    """One token request on a thread of its own."""

    def __init__(self, srv, name, code, verifier, client="web", extra=()):
        self.name, self.code, self.response = name, code, None
        form = code_form(code, verifier, client)
        self.thread = threading.Thread(target=lambda: setattr(self, "response", token(srv, form, extra=extra)))
        self.thread.start()


# ---- HTTP/2 by hand, to send several requests in one write ----------------


def hpack_int(value, prefix_bits, first=0):
    top = (1 << prefix_bits) - 1
    if value < top:
        return bytes([first | value])
    out, value = [first | top], value - top
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes(out + [value])


def hpack_literal(name, value):
    """A header as a literal without indexing, new name, no Huffman (RFC 7541 §6.2.2)."""
    n, v = name.encode(), value.encode()
    return b"\0" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def token_posts_at_once(srv, forms, timeout):
    """POSTs each form to /token as a stream of one HTTP/2 connection, all in
    one write, so that regain reads them in one turn of its loop; returns
    the JSON answers in order."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", srv.tls_port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        require("ALPN h2", tls.selected_alpn_protocol() == "h2", tls.selected_alpn_protocol())
        out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
        for i, form in enumerate(forms):
            body = urllib.parse.urlencode(form).encode()
            headers = b"".join(hpack_literal(k, v) for k, v in (
                (":method", "POST"), (":scheme", "https"), (":path", "/token"),
                (":authority", "localhost:%d" % srv.tls_port),
                ("content-type", "application/x-www-form-urlencoded"), ("content-length", str(len(body)))))
            out += frame(1, 0x4, 2 * i + 1, headers) + frame(0, 0x1, 2 * i + 1, body)
        tls.sendall(out)
        bodies, done, buf = {}, set(), b""
        while len(done) < len(forms):
            data = tls.recv(65536)
            if not data:
                break
            buf += data
            while len(buf) >= 9:
                length = struct.unpack(">I", b"\0" + buf[:3])[0]
                if len(buf) < 9 + length:
                    break
                kind, flags, stream = buf[3], buf[4], struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
                payload, buf = buf[9:9 + length], buf[9 + length:]
                if kind == 4 and not flags & 0x1:
                    tls.sendall(frame(4, 0x1, 0, b""))  # SETTINGS ack
                elif kind == 0:
                    bodies[stream] = bodies.get(stream, b"") + payload
                if kind in (0, 1) and flags & 0x1:
                    done.add(stream)
    answers = []
    for i in range(len(forms)):
        try:
            answers.append(json.loads(bodies.get(2 * i + 1, b"").decode()))
        except ValueError:
            answers.append({})
    return answers


def together(env, srv, users, code_of):
    """Exchanges that arrive in one turn of the loop go as one batch even
    with nothing in flight: the first does not go alone."""
    names = ["ann", "ben", "cid", "dee", "ann", "ben"]
    codes = [code_of(name) for name in names]
    # The client's registration is cached after one exchange, so every
    # request reaches the statement in the turn that read it.
    code, verifier = code_of("cid")
    require("one exchange to warm the client cache", token(srv, code_form(code, verifier, "web")).status == 200)
    batches0, batched0 = metric(srv, "regain_db_batches_total"), metric(srv, "regain_db_batched_total")
    answers = token_posts_at_once(srv, [code_form(c, v, "web") for c, v in codes], WAIT_S)
    check_eq("six exchanges in one write: one batch of six",
             (metric(srv, "regain_db_batches_total") - batches0, metric(srv, "regain_db_batched_total") - batched0),
             (1, 6))
    for name, answer in zip(names, answers):
        idt = answer.get("id_token", "")
        check_eq("in one write: %s's code gives %s's ID token" % (name, name),
                 jwt_parts(idt)[1].get("sub") if idt else answer, users[name][0])


def backend_ended(env, srv, code_of):
    """A batch whose backend is ended fails its caller (PostgreSQL answers
    the statement with an error, 57P01, before the connection goes: a 500),
    and the failure is counted in regain_db_errors_total once per caller."""
    code, verifier = code_of("ben")
    lock = code_lock(env, code)
    try:
        lost = Exchange(srv, "backend ended", code, verifier)
        require("the exchange waits for the lock", wait_until(lambda: waiting_for_lock(env.db_url), WAIT_S))
        errors0 = metric(srv, "regain_db_errors_total")
        rc, _, err = psql(env.db_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE wait_event_type = 'Lock'")
        require("the waiting backend is ended", rc == 0, err)
        lost.thread.join(WAIT_S)
    finally:
        release(lock)
    r = lost.response
    check_eq("backend ended under a batch: 500", r.status if r else None, 500)
    check_eq("... counted as one failed call", metric(srv, "regain_db_errors_total") - errors0, 1)


def main(env):
    # The first exchange waits for the lock as long as the test needs: its
    # deadline must not end the wait (it would send the batch early).
    srv = env.regain({"server": {"threads": 1},
                      "database": {"pool_size": 2, "query_timeout_ms": int(6 * WAIT_S * 1000)}})
    add_client(srv, "web", grants="authorization_code")
    add_client(srv, "web2", grants="authorization_code")
    users = {}
    for name in ("ann", "ben", "cid", "dee", "eve"):
        uid = add_user(env, name)
        users[name] = (uid, add_session(env, uid))

    def code_of(name, client="web"):
        uid, sid = users[name]
        return add_code(env, client, uid, sid, scope="openid profile", nonce="nonce-" + name)

    held, held_verifier = code_of("ann")
    good = {name: code_of(name) for name in ("ben", "cid", "dee")}
    wrong_code, wrong_verifier = code_of("ben")
    other_client_code, other_client_verifier = code_of("cid")
    inactive_code, inactive_verifier = code_of("eve")
    twice_code, twice_verifier = code_of("dee")
    gave_up_code, gave_up_verifier = code_of("cid")
    sql(env, "UPDATE users SET active = false WHERE id = %s" % lit(users["eve"][0]))

    batches0, batched0 = metric(srv, "regain_db_batches_total"), metric(srv, "regain_db_batched_total")
    require("the batch counters are on /metrics", batches0 is not None and batched0 is not None,
            curl("--http1.1", srv.http("/metrics")).text[-600:])
    revoked0 = families_revoked(env)

    lock = code_lock(env, held)
    try:
        first = Exchange(srv, "held", held, held_verifier)
        require("the first exchange waits for the lock", wait_until(lambda: waiting_for_lock(env.db_url), WAIT_S))

        wrong = wrong_verifier[:-1] + ("A" if wrong_verifier[-1] != "A" else "B")
        rest = [Exchange(srv, name, code, verifier) for name, (code, verifier) in good.items()]
        rest += [Exchange(srv, "wrong verifier", wrong_code, wrong),
                 Exchange(srv, "another client's code", other_client_code, other_client_verifier, client="web2"),
                 Exchange(srv, "deactivated user", inactive_code, inactive_verifier),
                 Exchange(srv, "twice (1)", twice_code, twice_verifier),
                 Exchange(srv, "twice (2)", twice_code, twice_verifier),
                 Exchange(srv, "unknown", "u" * 43, twice_verifier)]
        gave_up = Exchange(srv, "gave up", gave_up_code, gave_up_verifier, extra=("--max-time", "%.1f" % (2 * SLOW)))
        require("the ten exchanges wait for the next batch",
                wait_until(lambda: metric(srv, "regain_db_batch_queued") == 10, WAIT_S),
                "queued: %s" % metric(srv, "regain_db_batch_queued"))
        gave_up.thread.join(WAIT_S)
        check("the client that gave up got no answer", gave_up.response is not None and gave_up.response.status == 0,
              gave_up.response.describe() if gave_up.response else "still running")
        check("... and nothing was taken meanwhile", first.response is None and all(e.response is None for e in rest))
    finally:
        release(lock)
    first.thread.join(WAIT_S)
    for e in rest:
        e.thread.join(WAIT_S)

    check_eq("the nine went in one batch", (metric(srv, "regain_db_batches_total") - batches0,
                                            metric(srv, "regain_db_batched_total") - batched0), (1, 9))
    check_eq("nothing waits any more", metric(srv, "regain_db_batch_queued"), 0)

    def tokens_of(e, user):
        r = e.response
        check("%s: 200" % e.name, r is not None and r.status == 200, r.describe() if r else "no answer")
        body = (r.json() or {}) if r is not None else {}
        at, idt = body.get("access_token", ""), body.get("id_token", "")
        if not at or not idt:
            return None
        _, p, _ = jwt_parts(idt)
        check_eq("%s: the ID token's sub is %s's" % (e.name, user), p.get("sub"), users[user][0])
        check_eq("%s: the ID token's sid is %s's session" % (e.name, user), p.get("sid"), users[user][1])
        check_eq("%s: the ID token's nonce is the code's" % e.name, p.get("nonce"), "nonce-" + user)
        check_eq("%s: at_hash binds the access token" % e.name, p.get("at_hash"), at_hash(at))
        check_eq("%s: the access token's sub" % e.name, jwt_parts(at)[1].get("sub"), users[user][0])
        check("%s: both signatures verify" % e.name, verify_sig(srv, at) and verify_sig(srv, idt))
        return at

    tokens_of(first, "ann")
    by_name = {e.name: e for e in rest}
    for name in good:
        tokens_of(by_name[name], name)
    for name in ("wrong verifier", "another client's code", "deactivated user", "unknown"):
        r = by_name[name].response
        check_eq("%s: 400 invalid_grant" % name, (r.status, error(r)) if r else None, (400, "invalid_grant"))
    check("the wrong verifier used its code up", not unused(env, wrong_code))

    twice = [by_name["twice (1)"].response, by_name["twice (2)"].response]
    statuses = sorted(r.status if r else 0 for r in twice)
    check_eq("the code sent twice: one 200, one 400", statuses, [200, 400])
    loser = [r for r in twice if r and r.status == 400]
    check_eq("the second of the code sent twice: invalid_grant", error(loser[0]) if loser else None, "invalid_grant")
    check_eq("the code sent twice revoked its grant, and nothing else was revoked",
             families_revoked(env), revoked0 + 1)
    winner = [r for r in twice if r and r.status == 200]
    if winner:
        at = (winner[0].json() or {}).get("access_token", "")
        r = userinfo(srv, at)
        check_eq("the winner's access token is revoked with its grant", r.status, 401)

    together(env, srv, users, code_of)
    backend_ended(env, srv, code_of)

    check("the code of the client that gave up was not taken", unused(env, gave_up_code))
    r = token(srv, code_form(gave_up_code, gave_up_verifier, "web"))
    check_eq("... and is exchanged later: 200", r.status, 200)
    check_eq("exchanged later: its user", jwt_parts((r.json() or {}).get("id_token", "a.e30.c"))[1].get("sub"),
             users["cid"][0])
    srv.stop()


if __name__ == "__main__":
    run(main)
