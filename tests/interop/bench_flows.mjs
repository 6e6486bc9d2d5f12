// `make bench` driver (tests/bench/oidc.sh): complete authorization code
// flows with password sign-in, C at a time for D seconds, each by a fresh
// browser (no session): GET /authorize -> sign-in page, POST /login (one
// Argon2id verification), GET /authorize/resume -> code, POST /token with
// PKCE and client_secret_basic.  HTTP/1.1 over TLS with keep-alive (the
// session cookie is Secure).  Browser i signs in as USER<i> from source
// address 127.0.0.<i+2>: the sign-in throttle counts attempts per account and
// per address before the check (oidc/throttle_db.c), so 16 concurrent
// sign-ins of one account from one address would lock it.  Prints one JSON line:
//   {"flows": n, "seconds": s, "per_s": r, "errors": e, "p50_ms": .., "p99_ms": .., "first_error": "..",
//    "driver_cpu_pct": CPU time of this driver per wall second, in % of one core}
// Usage: node bench_flows.mjs ISSUER CA_PEM CLIENT_ID SECRET REDIRECT USER_PREFIX PASSWORD C D
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

const [issuer, caFile, clientId, secret, redirect, user, password, conc, dur] = process.argv.slice(2);
const C = Number(conc);
const D = Number(dur) * 1000;
const ca = fs.readFileSync(caFile);
const base = new URL(issuer);
const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');

function request(vu, method, path, headers = {}, body = null) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: 'localhost', port: base.port, method, path, headers: { host: base.host, ...headers },
        agent: vu.agent, localAddress: vu.addr, ca },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
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
const cookiesOf = (res) => (res.headers['set-cookie'] || []).map((c) => c.split(';')[0]);
const b64 = (b) => Buffer.from(b).toString('base64url');

async function flow(vu) {
  const verifier = b64(randomBytes(32));
  const challenge = b64(createHash('sha256').update(verifier).digest());
  const q = new URLSearchParams({
    client_id: clientId, redirect_uri: redirect, response_type: 'code', scope: 'openid profile',
    state: b64(randomBytes(12)), nonce: b64(randomBytes(12)), code_challenge: challenge, code_challenge_method: 'S256',
  });
  let r = await request(vu, 'GET', `/authorize?${q}`);
  if (r.status !== 200) throw new Error(`authorize ${r.status}`);
  const jar = cookiesOf(r);
  const form = new URLSearchParams({ request: input(r.body, 'request'), csrf: input(r.body, 'csrf'), username: vu.user, password });
  r = await request(vu, 'POST', '/login', { cookie: jar.join('; '), 'content-type': 'application/x-www-form-urlencoded' }, form.toString());
  if (r.status !== 303) throw new Error(`login ${r.status}`);
  jar.push(...cookiesOf(r));
  r = await request(vu, 'GET', r.headers.location, { cookie: jar.join('; ') });
  if (r.status !== 303) throw new Error(`resume ${r.status}`);
  const code = new URL(r.headers.location).searchParams.get('code');
  const tf = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier });
  r = await request(vu, 'POST', '/token', { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, tf.toString());
  if (r.status !== 200) throw new Error(`token ${r.status} ${r.body.slice(0, 100)}`);
}

const lat = [];
let errors = 0;
let firstError = '';
const start = Date.now();
await Promise.all(
  Array.from({ length: C }, async (_, i) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    const vu = { agent, addr: `127.0.0.${i + 2}`, user: `${user}${i}` };
    while (Date.now() - start < D) {
      const t = process.hrtime.bigint();
      try {
        await flow(vu);
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch (e) {
        errors += 1;
        firstError ||= e.message;
      }
    }
    agent.destroy();
  }),
);
const seconds = (Date.now() - start) / 1000;
const cpu = process.cpuUsage(); // this driver's own share of the machine
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2) : '-');
process.stdout.write(JSON.stringify({
  flows: lat.length, seconds, per_s: Number((lat.length / seconds).toFixed(1)), errors,
  p50_ms: pct(0.5), p99_ms: pct(0.99), first_error: firstError,
  driver_cpu_pct: Number((((cpu.user + cpu.system) / 1e6 / seconds) * 100).toFixed(0)),
}) + '\n');
