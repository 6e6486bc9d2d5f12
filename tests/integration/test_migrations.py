"""`regain migrate` applies schema/ once, records it, is idempotent and safe to
run concurrently; `serve` refuses an unmigrated database."""

import glob
import os
import re
import subprocess

from harness import ROOT, check, check_eq, psql, require, run, regain_bin, _regain_env


def main(env):
    files = sorted(os.path.basename(f)[:-4] for f in glob.glob(os.path.join(ROOT, "schema", "[0-9][0-9][0-9]_*.sql")))
    require("schema/ has migrations", files, "no schema/NNN_*.sql files")

    # An empty database: serve must refuse it and say what to do.
    empty_url = env.new_database("empty")
    srv = env.regain({"database": {"url": empty_url}}, start=False)
    try:
        p = srv.cli("serve", timeout=15)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "still running after 15 s", ""
    check("serve on an unmigrated database exits non-zero", rc != 0 and rc != "", "exit %r\n%s" % (rc, err))
    check("serve on an unmigrated database says to run `regain migrate`", "regain migrate" in err, err[-1500:])
    rc, rows, e = psql(empty_url, "select count(*) from pg_tables where schemaname = 'public'")
    check_eq("serve created no tables in the unmigrated database", rows and rows[0][0], "0")

    # First migrate applies everything.
    p = srv.cli("migrate")
    check_eq("first migrate exits 0", p.returncode, 0)
    out1 = p.stdout + p.stderr
    check("first migrate names what it applied", all(f in out1 for f in files), out1[-1500:])
    rc, rows, e = psql(empty_url, "select row_to_json(m)::text from schema_migrations m")
    require("schema_migrations readable", rc == 0, e)
    text = "\n".join(r[0] for r in rows)
    for f in files:
        check("schema_migrations lists %s" % f, f in text, text[:1500])
    check_eq("schema_migrations has one row per file", len(rows), len(files))

    # Second migrate: nothing to do.
    p = srv.cli("migrate")
    out2 = p.stdout + p.stderr
    check_eq("second migrate exits 0", p.returncode, 0)
    check("second migrate says there is nothing to do",
          re.search(r"nothing to do|up to date|already", out2, re.I) is not None, out2[-1500:])
    rc, rows2, e = psql(empty_url, "select count(*) from schema_migrations")
    check_eq("second migrate added no rows", rows2 and int(rows2[0][0]), len(files))

    # Now serve starts on it.
    srv.spawn()
    ok, detail = srv.wait_healthy()
    check("serve starts on the migrated database", ok, detail)
    srv.stop()

    # Concurrent migrations on a fresh database serialise (advisory lock).
    url2 = env.new_database("race")
    r2 = env.regain({"database": {"url": url2}}, start=False)
    procs = [subprocess.Popen([regain_bin(), "migrate", "--config", r2.config_path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_regain_env()) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    check("three concurrent migrates all exit 0", all(rc == 0 for rc, _ in results), repr(results))
    rc, rows, e = psql(url2, "select count(*) from schema_migrations")
    check_eq("concurrent migrates applied each file once", rows and int(rows[0][0]), len(files))

    # An edited/unknown migration recorded in the database is refused by serve.
    # Copy a recorded row under a newer name, whatever the other columns are.
    rc, _, e = psql(url2, "create temp table m as select * from schema_migrations limit 1; "
                          "update m set name = '999_from_the_future'; "
                          "insert into schema_migrations select * from m")
    if rc == 0:
        try:
            p = r2.cli("serve", timeout=15)
            prc, perr = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            prc, perr = "still running after 15 s", ""
        check("serve refuses a database with a newer migration than it knows", prc != 0,
              "exit %r\n%s" % (prc, perr[-1000:]))
    else:
        check("schema_migrations has a name column (for the newer-migration check)", False, e)


if __name__ == "__main__":
    run(main)
