"""A statement past its deadline drops its connection (gateway/store.c): the
query that was waiting for its answer must not be handed that connection.

One loop with two connections. A code exchange waits for a row lock on the
first connection; a refresh grant waits for another row lock on the second;
a second code exchange waits for the first one's batch to finish
(gateway/store_batch.c). When the first exchange passes its deadline, its
caller gets 503 and the second exchange's batch goes out at once: to the
second connection, behind the refresh grant, and is answered once that lock
goes. Before the fix it went to the connection being dropped, whose reset a
moment later failed it with "database unavailable"."""

import threading
import time

from harness import SLOW, check, check_eq, psql, require, run, wait_until
from tokens_fixture import (RowLock, add_client, add_code, add_session, add_user, code_form, lit, secret_hash_hex,
                            token)

TIMEOUT_S = 3 * SLOW


def lock_waiters(env):
    rc, rows, _ = psql(env.db_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    return int(rows[0][0]) if rc == 0 and rows else -1


def lock_holders(env):
    rc, rows, _ = psql(env.db_url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                                   "AND query LIKE '% FOR UPDATE;'")
    return int(rows[0][0]) if rc == 0 and rows else -1


class Request:
    """One token request on a thread of its own."""

    def __init__(self, srv, form):
        self.response, self.done_at = None, None
        self.thread = threading.Thread(target=self._run, args=(srv, form))
        self.thread.start()

    def _run(self, srv, form):
        self.response = token(srv, form)
        self.done_at = time.time()

    def wait(self, seconds):
        self.thread.join(seconds)
        return self.response


def main(env):
    srv = env.regain({"server": {"threads": 1},
                      "database": {"pool_size": 2, "query_timeout_ms": int(TIMEOUT_S * 1000)}})
    # web's exchanges take their codes in batches (OIDC_STMT_CODE_TAKE); app
    # is allowed refresh tokens, for the grant that holds the second
    # connection.
    add_client(srv, "web", grants="authorization_code")
    add_client(srv, "app")
    users = {name: add_user(env, name) for name in ("ann", "ben", "cid")}
    sessions = {name: add_session(env, uid) for name, uid in users.items()}

    def code_of(name, client="web"):
        return add_code(env, client, users[name], sessions[name])

    code, verifier = code_of("ben", "app")
    r = token(srv, code_form(code, verifier, "app"))
    refresh = (r.json() or {}).get("refresh_token")
    require("a refresh token to hold the second connection with", r.status == 200 and refresh, r)
    held, held_verifier = code_of("ann")
    later, later_verifier = code_of("cid")

    code_lock = RowLock(env, "SELECT 1 FROM authorization_codes WHERE code_hash = %s::bytea"
                        % lit(secret_hash_hex(env, held)))
    refresh_lock = RowLock(env, "SELECT 1 FROM refresh_tokens WHERE token_hash = %s::bytea"
                           % lit(secret_hash_hex(env, refresh)))
    try:
        require("both rows are locked", wait_until(lambda: lock_holders(env) == 2, 10 * SLOW))
        first = Request(srv, code_form(held, held_verifier, "web"))
        require("the first exchange waits for its lock", wait_until(lambda: lock_waiters(env) == 1, 10 * SLOW))
        # Sent well after the first, so that its deadline is well after the
        # first one's.
        time.sleep(TIMEOUT_S / 2)
        grant = Request(srv, {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "app"})
        require("the refresh grant waits for its lock", wait_until(lambda: lock_waiters(env) == 2, 10 * SLOW))
        second = Request(srv, code_form(later, later_verifier, "web"))
        r = first.wait(3 * TIMEOUT_S)
        require("the first exchange is answered at its deadline", r is not None, "no answer")
        check_eq("... 503", r.status, 503)
        # The second exchange now waits behind the refresh grant; a second
        # exchange failed with the dropped connection would be back already.
        time.sleep(0.5 * SLOW)
        check("the second exchange was not failed with the dropped connection", second.response is None,
              second.response and (second.response.text, second.done_at - first.done_at))
        refresh_lock.release()
        r = second.wait(3 * TIMEOUT_S)
        check_eq("once the refresh grant's lock goes, the second exchange gets its tokens",
                 (r.status, "id_token" in (r.json() or {})) if r else None, (200, True))
        r = grant.wait(3 * TIMEOUT_S)
        check_eq("... and so does the refresh grant", r.status if r else None, 200)
    finally:
        refresh_lock.release()
        code_lock.release()
    srv.stop()


if __name__ == "__main__":
    run(main)
