// regain against a real relying-party library: openid-client v6 (panva) for
// discovery, the authorization code flow with PKCE S256, the token exchange
// with ID-token validation, userinfo, refresh, RP-initiated logout and
// client_credentials; jose for every signature, against /jwks.json, with the
// algorithms pinned.  The browser part is driven through the real sign-in
// page: the form is parsed from the HTML, cookies are kept here, and the
// code is taken from the redirect to the relying party's URI without
// serving it.  TAP output; run by tests/run.sh (see tests/run.sh).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { attempt, check, checkEq, comment, fieldValue, Jar, rejects, require_, run, signInForm } from './fixture.mjs';

const REDIRECT = 'https://rp.example/callback';
const POST_LOGOUT = 'https://rp.example/signed-out';
const PASSWORD = 'correct horse battery staple';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const atHash = (token) => b64url(createHash('sha256').update(token).digest().subarray(0, 16));

await run('openid_client', async ({ srv, fetch, psql }) => {
  // ---- fixtures, through the CLI an operator uses ---------------------------
  const web = srv.addClient('web', {
    redirectUris: [REDIRECT],
    postLogout: [POST_LOGOUT],
    grants: 'authorization_code,refresh_token',
    scopes: 'openid profile email offline_access',
    auth: 'client_secret_basic',
  });
  require_('client add --json prints a client_secret', typeof web.client_secret === 'string', JSON.stringify(web));
  const spa = srv.addClient('spa', {
    redirectUris: ['http://127.0.0.1:7777/cb'],
    grants: 'authorization_code',
    scopes: 'openid profile',
    auth: 'none',
  });
  const m2m = srv.addClient('m2m', { grants: 'client_credentials', scopes: 'admin scim', auth: 'client_secret_basic' });
  const sub = srv.addUser('alice', PASSWORD, ['--given-name', 'Alice', '--family-name', 'Liddell', '--email',
    'alice@example.com', '--email-verified']);
  check('user add prints the new user id', /^[0-9a-f-]{36}$/.test(sub), sub);

  const opts = { [oidc.customFetch]: fetch, timeout: 30 };

  // ---- discovery --------------------------------------------------------
  const config = await attempt('openid-client discovery() accepts the metadata', () =>
    oidc.discovery(new URL(srv.issuer), 'web', web.client_secret, oidc.ClientSecretBasic(web.client_secret), opts),
  );
  require_('discovery gave a configuration', config !== undefined);
  config[oidc.customFetch] = fetch;
  const meta = config.serverMetadata();
  checkEq('issuer', meta.issuer, srv.issuer);
  checkEq('jwks_uri', meta.jwks_uri, srv.https('/jwks.json'));
  check('code_challenge_methods_supported has S256 only', JSON.stringify(meta.code_challenge_methods_supported) ===
    '["S256"]', JSON.stringify(meta.code_challenge_methods_supported));
  check('supportsPKCE()', meta.supportsPKCE('S256'));
  check('authorization_response_iss_parameter_supported', meta.authorization_response_iss_parameter_supported === true);
  check('end_session_endpoint present', typeof meta.end_session_endpoint === 'string');

  // Node's own fetch offers gzip (Accept-Encoding: gzip, deflate) and
  // inflates what it gets: the same documents, gzipped on the wire.
  for (const path of ['/.well-known/openid-configuration', '/jwks.json']) {
    const url = `http://127.0.0.1:${srv.port}${path}`;
    const r = await attempt(`Node fetch ${path}`, () => globalThis.fetch(url));
    const plain = await attempt(`${path} without Accept-Encoding`, () =>
      globalThis.fetch(url, { headers: { 'accept-encoding': 'identity' } }));
    if (r && plain) {
      checkEq(`Node fetch ${path}: sent gzipped`, r.headers.get('content-encoding'), 'gzip');
      const [a, b] = [await r.text(), await plain.text()];
      check(`Node fetch ${path}: inflates to the document sent without coding`, a === b && a.length > 100,
        `${a.slice(0, 80)} | ${b.slice(0, 80)}`);
    }
  }

  const JWKS = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { [jose.customFetch]: fetch });

  // ---- the browser: /authorize -> sign-in page -> /login -> resume -----
  /** Drives the real sign-in form; returns the URL the browser is sent to. */
  async function browse(jar, authUrl, { username = 'alice', password = PASSWORD, label = 'sign-in' } = {}) {
    let r = await fetch(authUrl, { headers: { cookie: jar.header() } });
    jar.take(r);
    if (r.status === 303 || r.status === 302) return new URL(r.headers.get('location'), srv.issuer);
    const html = await r.text();
    check(`${label}: /authorize shows the sign-in page (200 HTML)`,
      r.status === 200 && /text\/html/.test(r.headers.get('content-type') || ''), `${r.status} ${html.slice(0, 300)}`);
    const form = signInForm(html);
    require_(`${label}: the page has a form with a password field`, form !== null, html.slice(0, 600));
    checkEq(`${label}: the form posts`, form.method, 'post');
    const fields = {};
    for (const m of form.inner.matchAll(/<input\b[^>]*\bname="([^"]+)"/gi)) fields[m[1]] = fieldValue(form.inner, m[1]) ?? '';
    check(`${label}: hidden csrf and request fields`, !!fields.csrf && !!fields.request, JSON.stringify(Object.keys(fields)));
    fields.username = username;
    fields.password = password;
    const action = new URL(form.action || '/login', authUrl);
    checkEq(`${label}: the form action is this origin's /login`, action.origin + action.pathname, srv.https('/login'));
    r = await fetch(action, {
      method: 'POST',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    jar.take(r);
    // RFC 9700 §4.12: never 307 after a POST with credentials.
    // The sign-in finishes the pending request: straight back to the
    // relying party.
    checkEq(`${label}: POST /login answers 303`, r.status, 303);
    check(`${label}: ... with the new session cookie`, jar.header().includes('__Host-regain-session='), jar.header());
    return new URL(r.headers.get('location'), srv.issuer);
  }

  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile email offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const jar = new Jar();
  const callback = await browse(jar, authUrl);
  const session = jar.map.get('__Host-regain-session');
  check('the session cookie __Host-regain-session is set', !!session, JSON.stringify([...jar.map.keys()]));
  const attrs = (jar.attrs.get('__Host-regain-session') || []).map((a) => a.toLowerCase());
  check('... Secure, HttpOnly, Path=/', attrs.includes('secure') && attrs.includes('httponly') && attrs.includes('path=/'),
    JSON.stringify(attrs));
  checkEq('the redirect goes to the registered URI', callback.origin + callback.pathname, REDIRECT);
  checkEq('... with our state', callback.searchParams.get('state'), state);
  checkEq('... with iss (RFC 9207)', callback.searchParams.get('iss'), srv.issuer);
  check('... with a code', !!callback.searchParams.get('code'), callback.href);

  // ---- token exchange, validated by openid-client -----------------------
  const tokens = await attempt('authorizationCodeGrant() validates the response and the ID token', () =>
    oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    }),
  );
  require_('tokens received', tokens !== undefined);
  checkEq('token_type', tokens.token_type.toLowerCase(), 'bearer');
  check('expires_in > 0', tokens.expiresIn() > 0, String(tokens.expires_in));
  check('a refresh token (offline_access)', typeof tokens.refresh_token === 'string');
  const claims = tokens.claims();
  checkEq('ID token sub (claims())', claims.sub, sub);
  checkEq('ID token nonce', claims.nonce, nonce);

  // ---- jose: signatures against /jwks.json, algorithms pinned -----------
  const idt = await attempt('jose verifies the ID token (ES256 pinned, iss, aud)', () =>
    jose.jwtVerify(tokens.id_token, JWKS, { algorithms: ['ES256'], issuer: srv.issuer, audience: 'web', requiredClaims: ['exp', 'iat', 'sub'] }),
  );
  if (idt) {
    check('ID token header has a kid', !!idt.protectedHeader.kid, JSON.stringify(idt.protectedHeader));
    checkEq('ID token at_hash matches the access token', idt.payload.at_hash, atHash(tokens.access_token));
    check('ID token exp is in the future', idt.payload.exp > Date.now() / 1000, String(idt.payload.exp));
    checkEq('ID token azp', idt.payload.azp, 'web');
  }
  await rejects('jose refuses the ID token when only RS256 is allowed', () =>
    jose.jwtVerify(tokens.id_token, JWKS, { algorithms: ['RS256'] }), (e) => e.code === 'ERR_JOSE_ALG_NOT_ALLOWED');
  await rejects('jose refuses the ID token for another audience', () =>
    jose.jwtVerify(tokens.id_token, JWKS, { algorithms: ['ES256'], audience: 'spa' }), (e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  const parts = tokens.id_token.split('.');
  const flipped = parts[2].slice(0, 10) + (parts[2][10] === 'A' ? 'B' : 'A') + parts[2].slice(11);
  await rejects('jose refuses the ID token with one signature character changed', () =>
    jose.jwtVerify(`${parts[0]}.${parts[1]}.${flipped}`, JWKS, { algorithms: ['ES256'] }),
    (e) => e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');

  const at = await attempt('jose verifies the access token (ES256, typ at+jwt, RFC 9068)', () =>
    jose.jwtVerify(tokens.access_token, JWKS, { algorithms: ['ES256'], typ: 'at+jwt', issuer: srv.issuer, requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'] }),
  );
  if (at) {
    checkEq('access token typ header', at.protectedHeader.typ, 'at+jwt');
    checkEq('access token client_id', at.payload.client_id, 'web');
    checkEq('access token sub', at.payload.sub, sub);
    check('access token scope has openid', (at.payload.scope || '').split(' ').includes('openid'), at.payload.scope);
  }
  await rejects('jose refuses the ID token as an access token (typ)', () =>
    jose.jwtVerify(tokens.id_token, JWKS, { algorithms: ['ES256'], typ: 'at+jwt' }), (e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED');

  // ---- userinfo ----------------------------------------------------------
  const ui = await attempt('fetchUserInfo() with the expected subject', () =>
    oidc.fetchUserInfo(config, tokens.access_token, claims.sub));
  if (ui) {
    checkEq('userinfo sub', ui.sub, sub);
    checkEq('userinfo email', ui.email, 'alice@example.com');
    checkEq('userinfo given_name (profile)', ui.given_name, 'Alice');
  }
  await rejects('fetchUserInfo() refuses a response for another subject', () =>
    oidc.fetchUserInfo(config, tokens.access_token, '00000000-0000-0000-0000-000000000000'));

  // ---- refresh: rotation, then reuse of the old token -------------------
  const refreshed = await attempt('refreshTokenGrant()', () => oidc.refreshTokenGrant(config, tokens.refresh_token));
  if (refreshed) {
    check('the refresh token rotates', typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token);
    check('a new access token', refreshed.access_token !== tokens.access_token);
    if (refreshed.id_token) {
      const r2 = await attempt('refreshed ID token verifies (jose, ES256)', () =>
        jose.jwtVerify(refreshed.id_token, JWKS, { algorithms: ['ES256'], issuer: srv.issuer, audience: 'web' }));
      if (r2) checkEq('refreshed ID token: same sub', r2.payload.sub, sub);
    }
    await attempt('refreshed access token verifies (jose, at+jwt)', () =>
      jose.jwtVerify(refreshed.access_token, JWKS, { algorithms: ['ES256'], typ: 'at+jwt', issuer: srv.issuer }));
    await rejects('the old refresh token is refused: invalid_grant', () => oidc.refreshTokenGrant(config, tokens.refresh_token),
      (e) => e.error === 'invalid_grant');
    await rejects('after reuse the rotated one is refused too (family revoked)', () =>
      oidc.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === 'invalid_grant');
  }

  // ---- a second flow with the session: no sign-in page -------------------
  const v2 = oidc.randomPKCECodeVerifier();
  const n2 = oidc.randomNonce();
  const url2 = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(v2),
    code_challenge_method: 'S256', nonce: n2, prompt: 'none',
  });
  let r = await fetch(url2, { headers: { cookie: jar.header() } });
  checkEq('prompt=none with the session: 303 at once', r.status, 303);
  const cb2 = new URL(r.headers.get('location') || '/', srv.issuer);
  const tokens2 = await attempt('... and its code exchanges (no state, nonce checked)', () =>
    oidc.authorizationCodeGrant(config, cb2, { pkceCodeVerifier: v2, expectedNonce: n2, idTokenExpected: true }));

  // ---- RP-initiated logout ---------------------------------------------
  const logoutState = oidc.randomState();
  const endUrl = oidc.buildEndSessionUrl(config, {
    id_token_hint: (tokens2 || tokens).id_token,
    post_logout_redirect_uri: POST_LOGOUT,
    state: logoutState,
  });
  checkEq('buildEndSessionUrl() uses end_session_endpoint', endUrl.origin + endUrl.pathname, meta.end_session_endpoint);
  r = await fetch(endUrl, { headers: { cookie: jar.header() } });
  jar.take(r);
  checkEq('logout with a valid id_token_hint: 303', r.status, 303);
  const back = new URL(r.headers.get('location') || '/', srv.issuer);
  checkEq('... to the registered post-logout URI', back.origin + back.pathname, POST_LOGOUT);
  checkEq('... with state', back.searchParams.get('state'), logoutState);
  check('... the session cookie is cleared', !jar.map.has('__Host-regain-session'), jar.header());
  checkEq('... the session row has ended', psql(`select count(*) from sessions where ended_at is null`), '0');
  r = await fetch(url2, { headers: { cookie: `__Host-regain-session=${session}` } });
  const after = new URL(r.headers.get('location') || '/', srv.issuer);
  checkEq('the old cookie no longer signs in: prompt=none gets login_required', after.searchParams.get('error'), 'login_required');

  // ---- public client with PKCE (token_endpoint_auth_method none) --------
  const pub = await attempt('discovery() for a public client (None())', () =>
    oidc.discovery(new URL(srv.issuer), 'spa', undefined, oidc.None(), opts));
  if (pub) {
    pub[oidc.customFetch] = fetch;
    const pv = oidc.randomPKCECodeVerifier();
    const pn = oidc.randomNonce();
    const pu = oidc.buildAuthorizationUrl(pub, {
      redirect_uri: spa.redirect_uris[0], scope: 'openid profile', code_challenge: await oidc.calculatePKCECodeChallenge(pv),
      code_challenge_method: 'S256', nonce: pn,
    });
    const pjar = new Jar();
    const pcb = await browse(pjar, pu, { label: 'public client' });
    const pt = await attempt('public client: authorizationCodeGrant() with PKCE', () =>
      oidc.authorizationCodeGrant(pub, pcb, { pkceCodeVerifier: pv, expectedNonce: pn, idTokenExpected: true }));
    if (pt) {
      check('public client: no refresh token (grant not registered)', pt.refresh_token === undefined);
      await attempt('public client: ID token verifies (jose, ES256, aud spa)', () =>
        jose.jwtVerify(pt.id_token, JWKS, { algorithms: ['ES256'], issuer: srv.issuer, audience: 'spa' }));
    }
  }

  // ---- client_credentials -------------------------------------------------
  const cc = await attempt('discovery() for the m2m client', () =>
    oidc.discovery(new URL(srv.issuer), 'm2m', m2m.client_secret, oidc.ClientSecretBasic(m2m.client_secret), opts));
  if (cc) {
    cc[oidc.customFetch] = fetch;
    const ct = await attempt('clientCredentialsGrant() scope admin', () => oidc.clientCredentialsGrant(cc, { scope: 'admin' }));
    if (ct) {
      check('client_credentials: no id_token, no refresh_token', !ct.id_token && !ct.refresh_token);
      const v = await attempt('client_credentials access token verifies (jose, ES256, at+jwt)', () =>
        jose.jwtVerify(ct.access_token, JWKS, { algorithms: ['ES256'], typ: 'at+jwt', issuer: srv.issuer }));
      if (v) {
        checkEq('... sub is the client', v.payload.sub, 'm2m');
        checkEq('... scope', v.payload.scope, 'admin');
      }
      r = await fetch(srv.https('/admin/v1/clients'), { headers: { authorization: `Bearer ${ct.access_token}` } });
      checkEq('... the admin API accepts it', r.status, 200);
    }
    const bad = await oidc.discovery(new URL(srv.issuer), 'm2m', 'wrong', oidc.ClientSecretBasic('wrong'), opts);
    bad[oidc.customFetch] = fetch;
    await rejects('a wrong secret: invalid_client (401)', () => oidc.clientCredentialsGrant(bad, { scope: 'admin' }),
      (e) => (e.response?.status ?? e.status) === 401 &&
        (e.error === 'invalid_client' || (e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' && e.cause?.[0]?.scheme === 'basic')));
  }
  for (const pkg of ['openid-client', 'jose']) {
    comment(`${pkg} ${JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version}`);
  }
});
