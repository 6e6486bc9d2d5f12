// The interop tests' fixture, the Node twin of tests/integration/harness.py:
// TAP output (one line per assertion, a `# detail` line under a failure), a
// fresh database on the runner's PostgreSQL, a self-signed certificate, one
// `regain serve` on loopback (TLS + cleartext), the CLI, and a fetch over
// node:https that trusts exactly that certificate.
//
// Environment (tests/run.sh sets it, as for tests/integration):
//   REGAIN_BIN          the regain binary (required)
//   REGAIN_PG_URL_BASE  libpq conninfo of the cluster's `postgres` database
//   REGAIN_PG_DIR       else: the cluster directory (scripts/pg.sh url DIR)
//   REGAIN_PIDS_FILE    every started server's pid is appended here
//   REGAIN_SANITIZED    1 for sanitizer builds: longer waits
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SLOW = process.env.REGAIN_SANITIZED === '1' ? 3 : 1;

// ---- TAP ------------------------------------------------------------------

let count = 0;
let failed = 0;

export function comment(text) {
  for (const line of String(text).split('\n')) process.stdout.write('# ' + line + '\n');
}

/** One TAP line; `detail` (string or function giving one) is printed under a failure. */
export function check(name, cond, detail = '') {
  count += 1;
  name = String(name).replace(/\s+/g, ' ').trim();
  if (cond) {
    process.stdout.write(`ok ${count} - ${name}\n`);
  } else {
    failed += 1;
    process.stdout.write(`not ok ${count} - ${name}\n`);
    const d = typeof detail === 'function' ? detail() : detail;
    comment(d === '' ? 'assertion failed' : typeof d === 'string' ? d : JSON.stringify(d));
  }
  return Boolean(cond);
}

/** A TAP line for a check that could not run here, with the reason (counted as skipped, never passed). */
export function skip(name, reason) {
  count += 1;
  name = String(name).replace(/\s+/g, ' ').trim();
  process.stdout.write(`ok ${count} - ${name} # SKIP ${String(reason).replace(/\s+/g, ' ').trim()}\n`);
}

export function checkEq(name, got, want) {
  const a = JSON.stringify(got);
  const b = JSON.stringify(want);
  return check(name, a === b, `got ${a}, want ${b}`);
}

/** Awaits fn(); a throw is a failed check with the error's text. Returns fn's value or undefined. */
export async function attempt(name, fn) {
  try {
    const v = await fn();
    check(name, true);
    return v;
  } catch (e) {
    check(name, false, describeError(e));
    return undefined;
  }
}

/** Awaits fn() and expects it to throw; `want(e)` says whether it is the right error. */
export async function rejects(name, fn, want = () => true) {
  try {
    await fn();
    check(name, false, 'did not throw');
  } catch (e) {
    check(name, want(e), describeError(e));
  }
}

export function describeError(e) {
  if (!e) return String(e);
  const parts = [`${e.name || 'Error'}: ${e.message}`];
  if (e.code) parts.push(`code ${e.code}`);
  if (e.error) parts.push(`error ${e.error}`);
  if (e.cause && e.cause !== e) parts.push('cause: ' + (e.cause.message || JSON.stringify(e.cause)));
  if (e.stack) parts.push(e.stack.split('\n').slice(1, 5).join('\n'));
  return parts.join('\n');
}

export class Abort extends Error {}

/** A check that stops the file when it fails (the rest would be noise). */
export function require_(name, cond, detail = '') {
  if (!check(name, cond, detail)) throw new Abort(name);
}

// ---- helpers ----------------------------------------------------------------

/**
 * `n` different TCP ports that were free a moment ago. Every server stays
 * bound until all ports are read: ports taken one after another may repeat,
 * and regain would then run its TLS and cleartext listeners on one port.
 */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise((resolve, reject) => {
        s.on('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pgUrlBase() {
  let base = process.env.REGAIN_PG_URL_BASE;
  if (!base) {
    const dir = process.env.REGAIN_PG_DIR;
    if (!dir) throw new Abort('REGAIN_PG_URL_BASE or REGAIN_PG_DIR must be set');
    const sh = process.env.REGAIN_PG_SH || path.join(ROOT, 'scripts', 'pg.sh');
    base = execFileSync('bash', [sh, 'url', dir, 'postgres'], { encoding: 'utf8' }).trim();
  }
  return base;
}

/** The conninfo with dbname replaced (values here never contain spaces). */
function withDb(conninfo, db) {
  return conninfo.split(/\s+/).filter((p) => p && !p.startsWith('dbname=')).concat(`dbname=${db}`).join(' ');
}

export function psql(conninfo, sql) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', conninfo, '-c', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

// ---- HTTP over TLS, trusting our certificate only ---------------------------

/**
 * fetch(url, init) over node:https/http that trusts `ca` (PEM) and never
 * follows redirects. Returns a WHATWG Response; `response.setCookies` holds
 * the raw Set-Cookie header values. IPv4 only: regain listens on 127.0.0.1.
 */
export function makeFetch(ca) {
  const agentTls = new https.Agent({ ca, keepAlive: false, family: 4 });
  return async function tlsFetch(input, init = {}) {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method || 'GET').toUpperCase();
    const headers = {};
    new Headers(init.headers || {}).forEach((v, k) => {
      headers[k] = v;
    });
    let body = init.body;
    if (body instanceof URLSearchParams) {
      body = body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    }
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      body = Buffer.from(await new Response(body).arrayBuffer());
    }
    if (body != null) headers['content-length'] = String(Buffer.byteLength(body));
    const mod = url.protocol === 'https:' ? https : http;
    return await new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method,
          headers,
          agent: url.protocol === 'https:' ? agentTls : undefined,
          family: 4,
          signal: init.signal,
          timeout: 30000 * SLOW,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const h = new Headers();
            for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
            const nobody = [101, 204, 205, 304].includes(res.statusCode) || method === 'HEAD';
            const r = new Response(nobody ? null : Buffer.concat(chunks), {
              status: res.statusCode,
              statusText: res.statusMessage,
              headers: h,
            });
            Object.defineProperty(r, 'url', { value: url.href });
            r.setCookies = [].concat(res.headers['set-cookie'] || []);
            resolve(r);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      if (body != null) req.write(body);
      req.end();
    });
  };
}

/** A cookie jar for one origin (names are unique; Max-Age=0 deletes). */
export class Jar {
  constructor() {
    this.map = new Map();
    this.attrs = new Map();
  }
  take(response) {
    for (const sc of response.setCookies || []) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (attrs.some((a) => /^max-age=0$/i.test(a))) {
        this.map.delete(name);
      } else {
        this.map.set(name, value);
        this.attrs.set(name, attrs);
      }
    }
  }
  header() {
    return [...this.map].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** The value of <input name=NAME value=...> in an HTML page, unescaped. */
export function fieldValue(html, name) {
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const n = /\bname="([^"]*)"/i.exec(tag);
    if (n && n[1] === name) {
      const v = /\bvalue="([^"]*)"/i.exec(tag);
      return v ? unescapeHtml(v[1]) : '';
    }
  }
  return null;
}

/** The action and method of the first <form> that holds a password field. */
export function signInForm(html) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    if (!/type="password"/i.test(m[2])) continue;
    const action = /\baction="([^"]*)"/i.exec(m[1]);
    const method = /\bmethod="([^"]*)"/i.exec(m[1]);
    return { action: action ? unescapeHtml(action[1]) : null, method: method ? method[1].toLowerCase() : 'get', inner: m[2] };
  }
  return null;
}

export function unescapeHtml(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&amp;/g, '&');
}

// ---- regain ---------------------------------------------------------------

export class Regain {
  constructor(dir, dbUrl, kek) {
    this.dir = dir;
    this.dbUrl = dbUrl;
    this.kek = kek;
    this.proc = null;
    this.stderrPath = path.join(dir, 'stderr.log');
  }

  /** `overrides`: top-level config members to add or replace (e.g. providers). */
  async start(overrides = {}) {
    [this.tlsPort, this.port] = await freePorts(2);
    this.issuer = `https://localhost:${this.tlsPort}`;
    this.config = {
      issuer: this.issuer,
      dev_mode: true,
      database: { url: this.dbUrl, pool_size: 2, query_timeout_ms: 5000 },
      listen: [
        { address: '127.0.0.1', port: this.tlsPort, tls: { certificate_file: 'cert.pem', key_file: 'key.pem' } },
        { address: '127.0.0.1', port: this.port },
      ],
      server: {
        threads: 2,
        max_request_body_bytes: 1048576,
        idle_timeout_ms: 10000,
        max_streams_per_connection: 100,
        shutdown_timeout_ms: 10000,
      },
      keys: { encryption_key: this.kek, refresh_interval_ms: 10000 },
      log: { level: 'info', access_log: true },
      ...overrides,
    };
    this.configPath = path.join(this.dir, 'regain.json');
    fs.writeFileSync(this.configPath, JSON.stringify(this.config, null, 2));
    this.cli(['migrate']);
    const err = fs.openSync(this.stderrPath, 'a');
    this.proc = spawn(regainBin(), ['serve', '--config', this.configPath], {
      stdio: ['ignore', 'ignore', err],
      env: cleanEnv(),
    });
    fs.closeSync(err);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve(sig ? `signal ${sig}` : code)));
    if (process.env.REGAIN_PIDS_FILE) fs.appendFileSync(process.env.REGAIN_PIDS_FILE, `${this.proc.pid}\n`);
    const deadline = Date.now() + 15000 * SLOW;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      try {
        const r = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (r.status === 200) return this;
      } catch {
        /* not yet listening */
      }
      await sleep(100);
    }
    throw new Abort(`regain did not become healthy:\n${this.stderr().slice(-2000)}`);
  }

  https(p) {
    return `${this.issuer}${p}`;
  }

  stderr() {
    try {
      return fs.readFileSync(this.stderrPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** `regain ARGS --config F`; returns stdout; throws with stderr on failure. */
  cli(args, input) {
    try {
      return execFileSync(regainBin(), [...args, '--config', this.configPath], {
        encoding: 'utf8',
        input,
        env: cleanEnv(),
        timeout: 60000 * SLOW,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      throw new Error(`regain ${args.join(' ')} failed (${e.status}): ${e.stderr || e.message}`);
    }
  }

  /** Registers a client with the CLI; returns its JSON (with client_secret). */
  addClient(id, { redirectUris = [], postLogout = [], grants, scopes, auth }) {
    const args = ['client', 'add', '--id', id, '--name', id, '--json'];
    for (const u of redirectUris) args.push('--redirect-uri', u);
    for (const u of postLogout) args.push('--post-logout-redirect-uri', u);
    if (grants) args.push('--grant-types', grants);
    if (scopes) args.push('--scopes', scopes);
    if (auth) args.push('--auth-method', auth);
    return JSON.parse(this.cli(args));
  }

  addUser(username, password, extra = []) {
    return this.cli(['user', 'add', '--username', username, ...extra, '--password-stdin'], `${password}\n`).trim();
  }

  async stop() {
    if (!this.proc) return;
    const proc = this.proc;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const rc = await Promise.race([this.exited, sleep(20000 * SLOW).then(() => 'hung')]);
    if (rc === 'hung') proc.kill('SIGKILL');
    check('regain exits 0 after SIGTERM', rc === 0, `exit ${rc}\n${this.stderr().slice(-1500)}`);
    const report = ['ERROR: AddressSanitizer', 'runtime error:', 'LeakSanitizer'].find((p) => this.stderr().includes(p));
    check('no sanitizer report in server stderr', !report, () => this.stderr().slice(this.stderr().indexOf(report), 3000));
  }
}

function regainBin() {
  const b = process.env.REGAIN_BIN;
  if (!b) throw new Abort('REGAIN_BIN is not set');
  return path.resolve(b);
}

function cleanEnv() {
  const env = { ...process.env };
  delete env.REGAIN_DATABASE_URL;
  delete env.REGAIN_KEY_ENCRYPTION_KEY;
  return env;
}

/**
 * Runs main({srv, fetch, ca, psql}) with a fresh database, certificate and
 * server (its config with `overrides` merged at the top level); stops and drops everything afterwards; prints the plan and exits
 * 1 when anything failed.
 */
export async function run(name, main, overrides = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `regain-interop.${name}.`));
  const admin = pgUrlBase();
  const db = `i_${name.replace(/\W/g, '_')}_${process.pid}`.toLowerCase().slice(0, 60);
  let srv = null;
  let created = false;
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
        path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    psql(admin, `create database "${db}"`);
    created = true;
    const dbUrl = withDb(admin, db);
    srv = await new Regain(dir, dbUrl, randomBytes(32).toString('base64')).start(overrides);
    check('regain serves GET /healthz', true);
    const ca = fs.readFileSync(path.join(dir, 'cert.pem'));
    await main({ srv, fetch: makeFetch(ca), ca, psql: (sql) => psql(dbUrl, sql) });
  } catch (e) {
    if (e instanceof Abort) comment(`stopping ${name} early: ${e.message}`);
    else check(`${name} raised no exception`, false, describeError(e));
  } finally {
    if (srv) await srv.stop();
    if (created) {
      try {
        psql(admin, `drop database if exists "${db}" with (force)`);
      } catch (e) {
        comment(`drop database: ${e.message}`);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`1..${count}\n`);
  // Exit now: idle keep-alive sockets (fetch's pool) would hold the process
  // open for seconds. Writes to a pipe or file are synchronous on Linux.
  process.exit(failed || count === 0 ? 1 : 0);
}
