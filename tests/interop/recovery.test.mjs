// Verified recovery as an authentication context, seen by a real relying
// party: openid-client v6 discovers regain, asks for
// acr_values=urn:regain:acr:verified-recovery and, with the claims parameter,
// for verified_claims in the ID token (OpenID Connect for Identity Assurance
// 1.0); the browser part goes through the real pages (recovery start, the
// dev provider's check, the TAP shown once, TAP sign-in, the account page
// registering an authenticator app); openid-client redeems the code and
// validates the ID token; jose verifies its signature against /jwks.json with
// the algorithm pinned. A second relying party that does not ask for
// verified_claims gets the acr but not the claims.
import { createHmac, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { attempt, check, checkEq, fieldValue, Jar, require_, run, unescapeHtml } from './fixture.mjs';

const REDIRECT = 'https://rp.example/recovered';
const ACR = 'urn:regain:acr:verified-recovery';
const GROUP = '0b6a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';

/** The fields of the form whose action is `action`, or null. */
function formFields(html, action) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const a = /\baction="([^"]*)"/i.exec(m[1]);
    if (!a || unescapeHtml(a[1]) !== action) continue;
    const fields = {};
    for (const i of m[2].matchAll(/<input\b[^>]*\bname="([^"]+)"/gi)) fields[i[1]] = fieldValue(m[2], i[1]) ?? '';
    return fields;
  }
  return null;
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret. */
function totp(base32) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

await run('recovery', async ({ srv, fetch, psql }) => {
  const rp = srv.addClient('rp', { redirectUris: [REDIRECT], grants: 'authorization_code', scopes: 'openid',
    auth: 'client_secret_basic' });
  const sub = psql(`insert into users (user_name, given_name, family_name, birthdate) values
    ('grace', 'Grace', 'Hopper', '1906-12-09') returning id`).split('\n')[0];
  psql(`insert into groups (id, display_name) values ('${GROUP}', 'recovery')`);
  psql(`insert into group_members (group_id, member_id, member_type) values ('${GROUP}', '${sub}', 'User')`);
  const policy = {
    mode: 'enabled', eligibleGroups: [GROUP], providers: [{ id: 'dev' }],
    matching: { mode: 'relaxed', rules: [
      { claim: 'given_name', attribute: 'name.givenName' },
      { claim: 'family_name', attribute: 'name.familyName' },
      { claim: 'birthdate', attribute: 'urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate' }] },
    evidence: { trustFrameworks: ['dev'], maxAgeSeconds: 600 },
    rateLimits: { perAccount: { max: 50, windowSeconds: 3600 }, perAddress: { max: 50, windowSeconds: 3600 } },
  };
  psql(`select o_status from policy_put('recovery', '${JSON.stringify(policy)}'::jsonb, NULL, 'test', NULL, NULL)`);

  const opts = { [oidc.customFetch]: fetch, timeout: 30 };
  const config = await attempt('openid-client discovery()', () =>
    oidc.discovery(new URL(srv.issuer), 'rp', rp.client_secret, oidc.ClientSecretBasic(rp.client_secret), opts));
  require_('discovery gave a configuration', config !== undefined);
  config[oidc.customFetch] = fetch;
  const meta = config.serverMetadata();
  check('acr_values_supported lists verified-recovery', (meta.acr_values_supported || []).includes(ACR),
    JSON.stringify(meta.acr_values_supported));
  check('verified_claims_supported and claims_parameter_supported',
    meta.verified_claims_supported === true && meta.claims_parameter_supported === true);
  checkEq('IDA metadata: trust_frameworks_supported (the config\'s), claims_in_verified_claims_supported',
    [meta.trust_frameworks_supported, [...(meta.claims_in_verified_claims_supported || [])].sort()],
    [['dev'], ['birthdate', 'family_name', 'given_name']]);
  const JWKS = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { [jose.customFetch]: fetch });

  /** One recovery through the pages; returns the redirect to the relying party. */
  async function recover(authUrl, label) {
    const jar = new Jar();
    const get = async (p) => { const r = await fetch(new URL(p, srv.issuer), { headers: { cookie: jar.header() } }); jar.take(r); return r; };
    const post = async (p, form) => {
      const r = await fetch(new URL(p, srv.issuer), { method: 'POST', body: new URLSearchParams(form).toString(),
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' } });
      jar.take(r);
      return r;
    };
    let r = await get(authUrl.href);
    const loc = r.headers.get('location') || '';
    check(`${label}: /authorize sends the browser to /recover`, r.status === 303 && loc.startsWith('/recover?request='),
      `${r.status} ${loc}`);
    r = await get(loc);
    let f = formFields(await r.text(), '/recover');
    require_(`${label}: the recovery form`, f !== null);
    r = await post('/recover', { ...f, username: 'grace', provider: 'dev' });
    require_(`${label}: the start goes to the dev provider`, r.status === 303, String(r.status));
    r = await get(r.headers.get('location'));
    f = formFields(await r.text(), '/recover/callback');
    require_(`${label}: the dev provider's form`, f !== null);
    r = await post('/recover/callback', { ...f, given_name: 'Grace Brewster', family_name: 'Hopper',
      birthdate: '1906-12-09' });
    const tapPage = await r.text();
    f = formFields(tapPage, '/login/tap');
    require_(`${label}: the TAP is shown, with its sign-in form`, f !== null && f.tap, tapPage.slice(0, 400));
    r = await post('/login/tap', f);
    const account = r.headers.get('location') || '';
    check(`${label}: the TAP signs in to the account page`, r.status === 303 && account.startsWith('/account/security'),
      `${r.status} ${account}`);
    r = await get(account);
    f = formFields(await r.text(), '/account/security/totp');
    require_(`${label}: the account page offers an authenticator app`, f !== null);
    r = await post('/account/security/totp', { ...f, name: `phone ${label}` });
    const enrol = await r.text();
    const uri = unescapeHtml((/otpauth:\/\/totp\/[^"<\s]+/.exec(enrol) || [''])[0]);
    const secret = new URL(uri || 'otpauth://x').searchParams.get('secret');
    f = formFields(enrol, '/account/security/totp/confirm');
    require_(`${label}: the enrolment page`, f !== null && secret, enrol.slice(0, 400));
    r = await post('/account/security/totp/confirm', { ...f, code: totp(secret) });
    const resume = r.headers.get('location') || '';
    check(`${label}: the new app continues the relying party's request`, r.status === 303 &&
      resume.startsWith('/authorize/resume'), `${r.status} ${resume}`);
    r = await get(resume);
    return new URL(r.headers.get('location') || '', srv.issuer);
  }

  // ---- the relying party asks for verified_claims ----------------------------------
  const claims = { id_token: { acr: { essential: true, value: ACR },
    verified_claims: { verification: { trust_framework: null, time: null },
      claims: { given_name: null, family_name: null, birthdate: null } } } };
  let verifier = oidc.randomPKCECodeVerifier();
  let state = oidc.randomState();
  let nonce = oidc.randomNonce();
  let url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', state, nonce, acr_values: ACR, claims: JSON.stringify(claims),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  let back = await recover(url, 'with claims');
  check('the browser returns to the relying party with a code', back.href.startsWith(REDIRECT) &&
    back.searchParams.get('code'), back.href);
  const tokens = await attempt('openid-client redeems the code and validates the ID token', () =>
    oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }));
  require_('tokens', tokens !== undefined);
  const idc = tokens.claims();
  checkEq('ID token (openid-client): sub, acr, amr', [idc.sub, idc.acr, idc.amr], [sub, ACR, ['tap']]);
  const { payload, protectedHeader } = await attempt('jose verifies the ID token against /jwks.json (ES256 pinned)',
    () => jose.jwtVerify(tokens.id_token, JWKS, { issuer: srv.issuer, audience: 'rp', algorithms: ['ES256'] })) || {};
  check('the header names its key', protectedHeader && typeof protectedHeader.kid === 'string');
  const vc = payload && payload.verified_claims;
  const sorted = (o) => Object.fromEntries(Object.entries(o || {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  checkEq('verified_claims.claims: what was verified', sorted(vc && vc.claims),
    { birthdate: '1906-12-09', family_name: 'Hopper', given_name: 'Grace Brewster' });
  checkEq('verified_claims.verification.trust_framework', vc && vc.verification && vc.verification.trust_framework, 'dev');
  check('verified_claims.verification.time is RFC 3339',
    vc && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(vc.verification.time || ''), JSON.stringify(vc));

  // ---- a relying party that does not ask for verified_claims -----------------------------
  verifier = oidc.randomPKCECodeVerifier();
  state = oidc.randomState();
  nonce = oidc.randomNonce();
  url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', state, nonce, acr_values: ACR,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  back = await recover(url, 'without claims');
  const t2 = await attempt('second recovery: code redeemed', () =>
    oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }));
  const c2 = t2 ? t2.claims() : {};
  checkEq('without the claims request: acr verified-recovery, no verified_claims', [c2.acr, c2.verified_claims],
    [ACR, undefined]);

  // ---- a relying party that asks for one verified claim gets only that one -------------
  // (OpenID Connect for Identity Assurance 1.0 §6: no unrequested claims, and
  // of the verification only trust_framework, which is always returned)
  const narrow = { id_token: { verified_claims: { verification: { trust_framework: { values: ['eidas', 'dev'] } },
    claims: { given_name: null } } } };
  verifier = oidc.randomPKCECodeVerifier();
  state = oidc.randomState();
  nonce = oidc.randomNonce();
  url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', state, nonce, acr_values: ACR, claims: JSON.stringify(narrow),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  back = await recover(url, 'one claim');
  const t3 = await attempt('third recovery: openid-client redeems the code and validates the ID token', () =>
    oidc.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }));
  const v3 = t3 ? await attempt('jose verifies the trimmed ID token (ES256 pinned)', () =>
    jose.jwtVerify(t3.id_token, JWKS, { issuer: srv.issuer, audience: 'rp', algorithms: ['ES256'] })) : undefined;
  checkEq('trimmed ID token: verified_claims has only given_name and the trust framework',
    v3 && v3.payload.verified_claims,
    { verification: { trust_framework: 'dev' }, claims: { given_name: 'Grace Brewster' } });
}, { providers: [{ id: 'dev', type: 'dev', display_name: 'Simulated check' }],
  recovery: { trust_frameworks: ['dev'] } });
