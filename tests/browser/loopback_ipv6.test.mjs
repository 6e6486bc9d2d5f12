// A native app on the IPv6 loopback (RFC 8252 §7.3: http://[::1], any port)
// in a real browser: Debian's headless Chromium, driven by playwright-core.
// The sign-in pages' Content-Security-Policy used to allow it with
// `http://[::1]:*` in form-action, which is no CSP source expression (CSP3
// §2.3.1: host-char = ALPHA / DIGIT / "-"): Chromium drops it, and since it
// checks form-action on the redirects that answer a form too, the browser
// never reached the app. Against one `regain serve`, with small HTTP
// listeners standing in for the app:
//   - a client registered with http://[::1]/cb signs its user in through the
//     sign-in form, with response_mode=query (POST /login, 303 to [::1])
//     and form_post (the page posts to [::1]); the app gets a code that
//     the token endpoint takes;
//   - the sign-out confirmation's form ends at its [::1] post-logout URI;
//   - the same code flow to http://127.0.0.1:PORT (an exact origin in CSP);
//   - Chromium reports no CSP violation and no ignored source on the way.
// Without an IPv6 loopback here (no ::1 on lo), the [::1] checks say SKIP
// with the reason; they never pass unseen. TAP output; run by tests/run.sh.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { check, checkEq, comment, require_, run, skip } from '../interop/fixture.mjs';
import { TIMEOUT, launchChromium, newPage, phoneContext, shot } from './browser.mjs';

const PASSWORD = 'a native app password';
const b64url = (buf) => Buffer.from(buf).toString('base64url');

// The relying party: answers every request with a small page and keeps what
// it received. Resolves to null (with the error) when `host` cannot be bound.
function listener(host) {
  return new Promise((resolve) => {
    const hits = [];
    const waiting = [];
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const hit = { method: req.method, url: req.url, body: Buffer.concat(chunks).toString() };
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!DOCTYPE html><title>app</title><p>back in the app</p>');
        const w = waiting.findIndex((x) => x.match(hit));
        if (w >= 0) waiting.splice(w, 1)[0].resolve(hit);
        else hits.push(hit);
      });
    });
    server.on('error', (error) => resolve({ error }));
    server.listen(0, host, () => {
      resolve({
        server,
        port: server.address().port,
        // The first request (received or to come) whose path starts with `path`.
        next(path, ms = TIMEOUT) {
          const match = (h) => h.url.startsWith(path);
          const i = hits.findIndex(match);
          if (i >= 0) return Promise.resolve(hits.splice(i, 1)[0]);
          return new Promise((res) => {
            const entry = { match, resolve: res };
            waiting.push(entry);
            setTimeout(() => {
              const k = waiting.indexOf(entry);
              if (k >= 0) {
                waiting.splice(k, 1);
                res(null);
              }
            }, ms);
          });
        },
        close: () => new Promise((res) => server.close(() => res())),
      });
    });
  });
}

await run('browser_loopback_ipv6', async ({ srv, fetch }) => {
  const v6 = await listener('::1');
  const v4 = await listener('127.0.0.1');
  require_('a listener on 127.0.0.1', v4.server, v4.error && v4.error.message);
  if (!v6.server) comment(`no IPv6 loopback here: listening on [::1] failed (${v6.error && v6.error.message})`);
  const base6 = v6.server ? `http://[::1]:${v6.port}` : null;
  const base4 = `http://127.0.0.1:${v4.port}`;

  srv.addUser('ana', PASSWORD);
  // Registered without a port: any port matches for a loopback IP literal
  // (RFC 8252 §7.3). A post-logout URI matches exactly, port and all.
  srv.addClient('native', {
    redirectUris: ['http://[::1]/cb', 'http://127.0.0.1/cb'],
    postLogout: [base6 ? `${base6}/bye` : 'http://[::1]/bye'],
    grants: 'authorization_code', scopes: 'openid', auth: 'none',
  });

  const browser = await launchChromium();
  const cspMessages = [];
  try {
    const context = await phoneContext(browser, { noAutofill: true });
    const page = await newPage(context);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspMessages.push(m.text());
    });

    // One code flow through the sign-in form; returns the app's request, or null.
    async function codeFlow(label, base, mode) {
      const verifier = b64url(randomBytes(32));
      const redirectUri = `${base}/cb`;
      const state = `st-${mode}`;
      const params = {
        client_id: 'native', redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state,
        nonce: 'n-1', code_challenge: b64url(createHash('sha256').update(verifier).digest()),
        code_challenge_method: 'S256',
      };
      if (mode === 'form_post') params.response_mode = 'form_post';
      await context.clearCookies(); // a sign-in every time
      await page.goto(srv.https('/authorize?' + new URLSearchParams(params)));
      require_(`${label}: the sign-in page`, await page.locator('form[action="/login"]').count() === 1);
      await page.fill('#username', 'ana');
      await page.fill('#password', PASSWORD);
      const app = (base === base6 ? v6 : v4).next('/cb');
      await page.click('form[action="/login"] button[type=submit]');
      const hit = await app;
      if (!check(`${label}: the browser reaches the app at ${redirectUri}`, hit,
        () => `page at ${page.url()}; CSP messages: ${JSON.stringify(cspMessages)}`)) return null;
      const got = new URLSearchParams(mode === 'form_post' ? hit.body : hit.url.split('?')[1] || '');
      checkEq(`${label}: ${mode === 'form_post' ? 'POST with the form' : 'GET with the query'}`,
        hit.method, mode === 'form_post' ? 'POST' : 'GET');
      check(`${label}: code, state and iss`, got.get('code') && got.get('state') === state &&
        got.get('iss') === srv.issuer, Object.fromEntries(got));
      await page.waitForURL((u) => u.href.startsWith(redirectUri));
      await shot(page, `loopback-${mode}-${base === base6 ? 'v6' : 'v4'}`);
      const tok = await fetch(srv.https('/token'), {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', code: got.get('code') || '',
          redirect_uri: redirectUri, code_verifier: verifier, client_id: 'native' }),
      });
      const tj = await tok.json();
      check(`${label}: the app redeems the code`, tok.status === 200 && tj.id_token, tj);
      return hit;
    }

    if (base6) {
      await codeFlow('[::1], response_mode=query', base6, 'query');
      await codeFlow('[::1], response_mode=form_post', base6, 'form_post');

      // Signed in from the last flow: the sign-out confirmation (no hint)
      // posts to /logout, whose 303 goes to the app.
      await page.goto(srv.https('/logout?' + new URLSearchParams({
        client_id: 'native', post_logout_redirect_uri: `${base6}/bye`, state: 'lo-1' })));
      require_('sign-out: the confirmation page', await page.locator('form[action="/logout"]').count() === 1);
      const bye = v6.next('/bye');
      await page.click('form[action="/logout"] button[type=submit]');
      const hit = await bye;
      check(`sign-out: the browser reaches the app at ${base6}/bye`, hit && hit.url === '/bye?state=lo-1',
        () => `${JSON.stringify(hit)}; page at ${page.url()}; CSP messages: ${JSON.stringify(cspMessages)}`);
    } else {
      const why = `no IPv6 loopback in this environment (${v6.error && v6.error.code})`;
      skip('[::1], response_mode=query: the browser reaches the app', why);
      skip('[::1], response_mode=form_post: the browser reaches the app', why);
      skip('sign-out: the browser reaches the app at [::1]', why);
    }
    await codeFlow('127.0.0.1, response_mode=query', base4, 'query');

    checkEq('Chromium reported no CSP violation or ignored source', cspMessages, []);
  } finally {
    await browser.close();
    if (v6.server) await v6.close();
    await v4.close();
  }
});
