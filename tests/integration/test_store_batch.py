#!/usr/bin/env python3
"""gateway/store.c batches (store_stmt_register_batchable) against a real
PostgreSQL: batchable statements of one loop turn share one transaction, each
result is handed over only after the commit, and a statement that fails (or a
commit that fails) takes no neighbour down: the batch is retried statement by
statement, so every caller gets what its statement alone gives.

The checks run in tests/integration/store_batch_driver.c (built next to the
regain binary under test); this file runs it on the fresh database and turns
its lines into TAP."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, regain_bin, require, run, sh  # noqa: E402


def main(env):
    driver = os.path.join(os.path.dirname(regain_bin()), "tests", "store_batch_driver")
    require("store_batch_driver is built", os.access(driver, os.X_OK), driver)
    p = sh([driver, env.db_url], timeout=120)
    lines = [l for l in p.stdout.splitlines() if l.startswith("ok\t") or l.startswith("not ok\t")]
    check("the driver ran every scenario (%d checks)" % len(lines), len(lines) >= 16,
          "stdout:\n%s\nstderr:\n%s" % (p.stdout, p.stderr))
    for line in lines:
        parts = line.split("\t")
        check(parts[1], parts[0] == "ok", parts[2] if len(parts) > 2 else "")
    check("the driver exits 0", p.returncode == 0, "rc %d, stderr:\n%s" % (p.returncode, p.stderr))
    check("no sanitizer report", "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr)


run(main)
