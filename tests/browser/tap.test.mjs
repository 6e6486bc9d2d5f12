// A Temporary Access Pass in a real browser (issue 6): Debian's headless
// Chromium, driven by playwright-core, with a WebAuthn virtual authenticator.
//   - an administrator issues a TAP over the admin API (bearer token of
//     scope admin);
//   - a relying party sends the person to /authorize; on the sign-in page
//     they open "Sign in with a temporary access pass" and type it (lower
//     case, with spaces);
//   - they land on the account security page, which asks for a method
//     first; the relying party is out of reach (resume comes back here);
//   - they register a passkey, and the page carries on to the relying party
//     with a code; the ID token is the person's, amr tap, expiring with the
//     TAP;
//   - the same TAP a second time is refused (one-time);
//   - afterwards they sign in with the new passkey alone;
//   - the audit log tells it in order: tap.issued, tap.used, method.added,
//     tap.failed.
// Screenshots go to build/test-artifacts/browser/ (or $REGAIN_ARTIFACTS).
import { createHash, randomBytes } from 'node:crypto';
import { check, checkEq, require_, run } from '../interop/fixture.mjs';
import { launchChromium, newPage, phoneContext, shot, virtualAuthenticator } from './browser.mjs';

const REDIRECT = 'https://rp.example/cb';
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

await run('browser_tap', async ({ srv, fetch, psql }) => {
  const sub = srv.addUser('tess', 'a password long forgotten');
  srv.addClient('web', { redirectUris: [REDIRECT], grants: 'authorization_code', scopes: 'openid', auth: 'none' });
  const admin = srv.addClient('tap-admin', { grants: 'client_credentials', scopes: 'admin', auth: 'client_secret_basic' });

  // ---- the administrator issues a TAP ---------------------------------------------------
  const basic = Buffer.from(`tap-admin:${encodeURIComponent(admin.client_secret)}`).toString('base64');
  const tr = await fetch(srv.https('/token'), {
    method: 'POST', headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
  });
  const at = (await tr.json()).access_token;
  require_('admin token', tr.status === 200 && at);
  const ir = await fetch(srv.https('/admin/v1/users/tess/authentication/temporaryAccessPassMethods'), {
    method: 'POST', headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
    body: JSON.stringify({ lifetimeInMinutes: 60 }),
  });
  const issued = await ir.json();
  require_('the administrator issues a TAP (201)', ir.status === 201 && issued.temporaryAccessPass, issued);
  const tap = issued.temporaryAccessPass;

  const browser = await launchChromium();
  try {
    // No passkey autofill prompt on the sign-in page: this person has none yet.
    const context = await phoneContext(browser, { noAutofill: true });
    const page = await newPage(context);
    await virtualAuthenticator(context, page);

    // ---- the relying party sends the person to sign in ---------------------------------
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const authorize = srv.https('/authorize?' + new URLSearchParams({
      client_id: 'web', redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'st-1',
      nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256',
    }));
    await page.goto(authorize);
    const tapForm = page.locator('form[action="/login/tap"]');
    check('the sign-in page has the TAP form', await tapForm.count() === 1);
    await page.click('summary:has-text("temporary access pass")');
    await page.fill('#tap', tap.toLowerCase().replaceAll('-', ' '));
    await shot(page, 'tap-signin');
    await tapForm.locator('button[type=submit]').click();
    await page.waitForURL(/\/account\/security\?request=/);
    const request = new URL(page.url()).searchParams.get('request');
    check('signed in with the TAP: the account page, asking for a method first',
      (await page.textContent('main')).includes('You can use your account once you have one'));
    checkEq('the session: register_method, amr {tap}',
      psql("select purpose || ' ' || amr::text from sessions where ended_at is null"), 'register_method {tap}');
    await shot(page, 'tap-account');

    // The relying party is out of reach until a method is registered.
    await page.goto(srv.https(`/authorize/resume?request=${request}`));
    check('resume before a method exists comes back to the account page',
      /\/account\/security\?request=/.test(page.url()), page.url());

    // ---- register a passkey: the page carries on to the relying party -------------------
    const toRp = page.waitForEvent('requestfailed', (req) => req.url().startsWith(REDIRECT));
    await page.fill('#passkey-name', 'Phone');
    await page.click('#passkey-add');
    const rpUrl = new URL((await toRp).url());
    const code = rpUrl.searchParams.get('code');
    check('the passkey registered, the browser goes on to the relying party with a code',
      code && rpUrl.searchParams.get('state') === 'st-1', rpUrl.href);
    checkEq('the session is full now', psql('select purpose from sessions where ended_at is null'), 'full');
    const tok = await fetch(srv.https('/token'), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code || '', redirect_uri: REDIRECT,
        code_verifier: verifier, client_id: 'web' }),
    });
    const tj = await tok.json();
    check('the relying party redeems the code', tok.status === 200 && tj.id_token, tj);
    const tapExp = Number(psql(`select extract(epoch from expires_at)::bigint from taps where id = '${issued.id}'`));
    if (tj.id_token) {
      const idt = claims(tj.id_token);
      check('the ID token: this person, amr tap, no later than the TAP',
        idt.sub === sub && JSON.stringify(idt.amr) === '["tap"]' && idt.exp <= tapExp, idt);
    }

    // ---- one-time: the TAP a second time ---------------------------------------------------
    const other = await browser.newContext({ ignoreHTTPSErrors: true });
    const p2 = await newPage(other);
    await p2.goto(authorize);
    await p2.click('summary:has-text("temporary access pass")');
    await p2.fill('#tap', tap);
    await p2.locator('form[action="/login/tap"] button[type=submit]').click();
    await p2.waitForLoadState();
    check('the same TAP again: refused on the sign-in page', (await p2.textContent('main')).includes('not valid'),
      await p2.textContent('main'));
    await other.close();

    // ---- later: the passkey alone --------------------------------------------------------
    await page.goto(srv.https('/account/security'));
    await page.click('form[action="/logout"] button');
    await page.waitForLoadState();
    await page.goto(srv.https('/account/security'));
    await page.click('#passkey-signin');
    await page.waitForURL(/\/account\/security$/);
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'Sign-in methods');
    check('signed in again with the new passkey alone', (await page.textContent('main')).includes('tess'));

    // ---- the audit log -----------------------------------------------------------------------
    const r = await fetch(srv.https(`/admin/v1/audit?user=${sub}&limit=100`),
      { headers: { authorization: `Bearer ${at}` } });
    const types = (await r.json()).value.map((e) => e.type).reverse();
    const order = ['tap.issued', 'tap.used', 'method.added', 'tap.failed'].map((t) => types.indexOf(t));
    check('the audit log: tap.issued, tap.used, method.added, tap.failed, in that order',
      order.every((i) => i >= 0) && order.every((i, k) => k === 0 || i > order[k - 1]), types);
  } finally {
    await browser.close();
  }
  const log = srv.stderr();
  const plain = tap.replaceAll('-', '');
  check('the TAP is not in the server log', !log.includes(plain) && !log.includes(tap) &&
    !log.includes(plain.toLowerCase()) && log.includes('signed in with a TAP'));
});
