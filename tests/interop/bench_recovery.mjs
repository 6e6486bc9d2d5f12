// `make bench` driver (tests/bench/recovery.sh): complete verified recoveries
// with the `dev` provider, C at a time for D seconds, each by a fresh browser:
//   GET /authorize?acr_values=urn:regain:acr:verified-recovery -> 303 /recover
//   GET /recover -> the form (CSRF cookie and token)
//   POST /recover (username, provider dev) -> attempt started, 303 to the dev page
//   POST /recover/callback (the claims) -> verified, matched, TAP minted and shown
//   POST /login/tap (the TAP) -> the first sign-in: a recovery session, 303
// HTTP/1.1 over TLS with keep-alive. Browser i recovers account USER<i>
// (its own birthdate, so every match is unique) from 127.0.0.<i+2>.
// Prints one JSON line {"recoveries", "seconds", "per_s", "errors", "p50_ms",
// "p99_ms", "first_error", "driver_cpu_pct"} (latencies as the client sees a
// whole recovery) and writes the X-Request-Id of each recovery's requests, one
// recovery per line, to IDS_FILE, so the server time of a recovery can be
// summed from regain's access log.
// Usage: node bench_recovery.mjs ISSUER CA_PEM CLIENT_ID REDIRECT USER_PREFIX C D IDS_FILE
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

const [issuer, caFile, clientId, redirect, user, conc, dur, idsFile] = process.argv.slice(2);
const C = Number(conc);
const D = Number(dur) * 1000;
const ca = fs.readFileSync(caFile);
const base = new URL(issuer);

function request(vu, method, path, headers = {}, body = null) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: 'localhost', port: base.port, method, path, headers: { host: base.host, ...headers },
        agent: vu.agent, localAddress: vu.addr, ca },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          vu.ids.push(res.headers['x-request-id'] || '-');
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body != null) req.end(body);
    else req.end();
  });
}

const input = (html, name) => {
  const m = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
  return m ? m[1].replace(/&amp;/g, '&') : null;
};
const b64 = (b) => Buffer.from(b).toString('base64url');
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

class Jar {
  constructor() { this.c = new Map(); }
  take(res) {
    for (const sc of res.headers['set-cookie'] || []) {
      const [kv, ...attrs] = sc.split(';');
      const i = kv.indexOf('=');
      const name = kv.slice(0, i).trim();
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) this.c.delete(name);
      else this.c.set(name, kv.slice(i + 1).trim());
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function recovery(vu) {
  const jar = new Jar();
  const verifier = b64(randomBytes(32));
  const q = new URLSearchParams({
    client_id: clientId, redirect_uri: redirect, response_type: 'code', scope: 'openid',
    state: b64(randomBytes(12)), nonce: b64(randomBytes(12)),
    code_challenge: b64(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
    acr_values: 'urn:regain:acr:verified-recovery',
  });
  let r = await request(vu, 'GET', `/authorize?${q}`);
  if (r.status !== 303 || !r.headers.location.startsWith('/recover?')) throw new Error(`authorize ${r.status}`);
  r = await request(vu, 'GET', r.headers.location, { cookie: jar.header() });
  jar.take(r);
  if (r.status !== 200) throw new Error(`recover page ${r.status}`);
  let form = new URLSearchParams({ request: input(r.body, 'request'), csrf: input(r.body, 'csrf'),
    username: vu.user, provider: 'dev' });
  r = await request(vu, 'POST', '/recover', { cookie: jar.header(), ...FORM }, form.toString());
  jar.take(r);
  if (r.status !== 303) throw new Error(`start ${r.status}`);
  const handle = new URL(r.headers.location, issuer).searchParams.get('handle');
  form = new URLSearchParams({ state: handle, given_name: 'Bench', family_name: `User ${vu.i}`,
    birthdate: vu.birthdate, trust_framework: 'dev', assurance_level: 'substantial', verified_seconds_ago: '0' });
  r = await request(vu, 'POST', '/recover/callback', { cookie: jar.header(), ...FORM }, form.toString());
  jar.take(r);
  const tap = input(r.body, 'tap');
  if (r.status !== 200 || !tap) throw new Error(`callback ${r.status} ${r.body.includes('recovery-outcome') ? 'refused' : ''}`);
  form = new URLSearchParams({ request: input(r.body, 'request'), csrf: input(r.body, 'csrf'),
    username: input(r.body, 'username'), tap });
  r = await request(vu, 'POST', '/login/tap', { cookie: jar.header(), ...FORM }, form.toString());
  jar.take(r);
  if (r.status !== 303 || !jar.c.has('__Host-regain-session')) throw new Error(`tap sign-in ${r.status}`);
}

const lat = [];
const idLines = [];
let errors = 0;
let firstError = '';
const start = Date.now();
await Promise.all(
  Array.from({ length: C }, async (_, i) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    const vu = { i, agent, addr: `127.0.0.${i + 2}`, user: `${user}${i}`,
      birthdate: `1970-01-${String(i + 1).padStart(2, '0')}`, ids: [] };
    while (Date.now() - start < D) {
      const t = process.hrtime.bigint();
      vu.ids = [];
      try {
        await recovery(vu);
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        idLines.push(vu.ids.join(' '));
      } catch (e) {
        errors += 1;
        firstError ||= e.message;
      }
    }
    agent.destroy();
  }),
);
const seconds = (Date.now() - start) / 1000;
const cpu = process.cpuUsage();
fs.writeFileSync(idsFile, idLines.join('\n') + '\n');
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2) : '-');
process.stdout.write(JSON.stringify({
  recoveries: lat.length, seconds, per_s: Number((lat.length / seconds).toFixed(1)), errors,
  p50_ms: pct(0.5), p99_ms: pct(0.99), first_error: firstError,
  driver_cpu_pct: Number((((cpu.user + cpu.system) / 1e6 / seconds) * 100).toFixed(0)),
}) + '\n');
