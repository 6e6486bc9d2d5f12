// Sign-in methods in a real browser (issue 5): Debian's headless Chromium,
// driven by playwright-core, with a WebAuthn virtual authenticator (CTAP2,
// internal transport, resident keys, user verification) through the
// DevTools protocol. Against one `regain serve` on loopback:
//   - register a passkey on the account page, sign out, sign back in with it
//     username-less and with a username (and refused for another username);
//   - enrol an authenticator app (the link the page shows), sign in with a
//     computed code, and see the same code refused the second time;
//   - a relying party asking for phishing-resistant sign-in: a password
//     session is stepped up to a passkey, and the ID token says so;
//   - the browser's own answers, tampered on their way to the server (wrong
//     RP ID hash, a flipped signature byte), replayed (a used challenge), and
//     signed with a rolled-back counter, are each refused (the rolled-back
//     counter, which the key signed, audited; the tampered ones not).
// Screenshots of the pages go to build/test-artifacts/browser/ (or
// $REGAIN_ARTIFACTS). TAP output; run by tests/run.sh.
import { createHash, createHmac } from 'node:crypto';
import { check, checkEq, require_, run } from '../interop/fixture.mjs';
import { launchChromium, newPage, phoneContext, shot, virtualAuthenticator } from './browser.mjs';

const PASSWORD = 'correct horse battery staple';
const REDIRECT = 'https://rp.example/cb';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// RFC 6238 with the secret of an otpauth:// link.
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
function totp(key, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(msg).digest();
  const off = mac[19] & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30000);

await run('browser_passkeys', async ({ srv, fetch, psql }) => {
  const sub = srv.addUser('alice', PASSWORD);
  srv.addUser('bob', 'another password entirely');
  srv.addClient('web', { redirectUris: [REDIRECT], grants: 'authorization_code', scopes: 'openid', auth: 'none' });
  const q = (sql) => psql(sql);

  const browser = await launchChromium();
  try {
    const context = await phoneContext(browser);
    const page = await newPage(context);
    const { cdp, authenticatorId } = await virtualAuthenticator(context, page);

    // ---- sign in with the password, from the account page itself ---------------
    await page.goto(srv.https('/account/security'));
    check('the account page asks for a sign-in', await page.locator('form[action="/login"]').count() === 1);
    check('... and offers a passkey (the script showed the button)',
      await page.locator('#passkey-signin').isVisible());
    check('... the username field takes passkey autofill',
      (await page.getAttribute('#username', 'autocomplete')) === 'username webauthn');
    await shot(page, 'signin');
    await page.fill('#username', 'alice');
    await page.fill('#password', PASSWORD);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL(/\/account\/security$/);
    check('signed in: the account page', (await page.textContent('h1')) === 'Sign-in methods');

    // ---- register a passkey --------------------------------------------------------
    await page.fill('#passkey-name', 'Laptop');
    await page.click('#passkey-add');
    await page.waitForURL(/m=passkey-added/);
    check('the passkey is listed with its name',
      await page.locator('ul.methods strong', { hasText: 'Laptop' }).count() === 1);
    const cred = q("select encode(credential_id, 'hex'), alg, attestation_fmt, backup_eligible from webauthn_credentials");
    check('one credential stored (ES256, attestation none)', /^[0-9a-f]+\|-7\|none\|f$/.test(cred), cred);
    checkEq('audited: method.added passkey',
      q("select type || ' ' || outcome || ' ' || (detail->>'kind') from audit_events where type = 'method.added'"),
      'method.added success passkey');
    await shot(page, 'account');

    // ---- sign out, then back in username-less ---------------------------------------
    const signOut = async () => {
      await page.goto(srv.https('/account/security'));
      await page.click('form[action="/logout"] button');
      await page.waitForLoadState();
    };
    await signOut();
    check('signed out', (await page.textContent('main')).toLowerCase().includes('signed out'),
      await page.textContent('main'));
    // Autofill: the page asks for passkeys with conditional mediation as it
    // loads; the virtual authenticator answers as a person picking the
    // passkey from the username field's suggestions would.
    await page.goto(srv.https('/account/security'));
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'Sign-in methods');
    check('passkey autofill (conditional mediation) signs in', (await page.textContent('main')).includes('alice'));
    // From here on, no autofill: the button, with and without a username.
    await context.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await signOut();
    await page.goto(srv.https('/account/security'));
    check('signed out: the sign-in page again', await page.locator('form[action="/login"]').count() === 1);
    await page.click('#passkey-signin');
    await page.waitForURL(/\/account\/security$/);
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'Sign-in methods');
    check('username-less passkey sign-in: the account page', (await page.textContent('main')).includes('alice'));
    checkEq('... session amr hwk user mfa, acr phishing-resistant',
      q("select amr::text || ' ' || acr from sessions where ended_at is null order by created_at desc limit 1"),
      '{hwk,user,mfa} urn:regain:acr:phishing-resistant');

    // ---- with a username ---------------------------------------------------------------
    await signOut();
    await page.goto(srv.https('/account/security'));
    await page.fill('#username', 'bob');
    await page.click('#passkey-signin');
    await page.waitForFunction(() => document.getElementById('passkey-status').textContent.includes('belong'));
    check('a passkey of another account than the username typed is refused', page.url().endsWith('/account/security'));
    await page.fill('#username', 'Alice');
    await page.click('#passkey-signin');
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'Sign-in methods');
    check('with the right username: signed in', (await page.textContent('main')).includes('alice'));

    // ---- an authenticator app -------------------------------------------------------
    await page.fill('#totp-name', 'Phone app');
    await page.click('form[action="/account/security/totp"] button');
    const uri = await page.textContent('#totp-uri');
    check('the enrolment page shows the otpauth:// link and the QR code', uri.startsWith('otpauth://totp/')
      && (await page.getAttribute('#totp-qr', 'src')).startsWith('data:image/svg+xml'), uri);
    await shot(page, 'totp-enrol');
    const key = base32Decode(new URL(uri).searchParams.get('secret'));
    const confirmStep = stepNow();
    await page.fill('#code', totp(key, confirmStep));
    await page.click('form[action="/account/security/totp/confirm"] button');
    await page.waitForURL(/m=totp-added/);
    check('the app is listed', await page.locator('ul.methods strong', { hasText: 'Phone app' }).count() === 1);
    await shot(page, 'account-methods');

    await signOut();
    const passwordThenCode = async (code) => {
      await page.goto(srv.https('/account/security'));
      await page.fill('#username', 'alice');
      await page.fill('#password', PASSWORD);
      await page.click('form[action="/login"] button[type=submit]');
      await page.waitForSelector('#code');
      await page.fill('#code', code);
      await page.click('form[action="/login/code"] button');
      await page.waitForLoadState();
    };
    const code = totp(key, confirmStep + 1);
    await passwordThenCode(code);
    check('password + computed code: signed in', (await page.textContent('h1')) === 'Sign-in methods');
    checkEq('... amr pwd otp mfa',
      q("select amr::text from sessions where ended_at is null order by created_at desc limit 1"), '{pwd,otp,mfa}');
    await signOut();
    await passwordThenCode(code);
    check('the same code a second time is refused', (await page.textContent('h1')) === 'Enter your code'
      && (await page.textContent('[role=alert]')).includes('did not work'));
    await shot(page, 'totp-replayed');

    // ---- a relying party asks for phishing-resistant: step-up -----------------------------
    const verifier = b64url(Buffer.from('v'.repeat(48)));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const authz = srv.https('/authorize?' + new URLSearchParams({ client_id: 'web', redirect_uri: REDIRECT,
      response_type: 'code', scope: 'openid', state: 's1', nonce: 'n1', code_challenge: challenge,
      code_challenge_method: 'S256', acr_values: 'urn:regain:acr:phishing-resistant' }));
    await page.goto(srv.https('/account/security'));
    await page.fill('#username', 'bob');
    await page.fill('#password', 'another password entirely');
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL(/\/account\/security$/);
    await page.goto(authz);
    check('a password session is not accepted: the sign-in page asks for a passkey (the password folded away)',
      page.url().includes('/authorize') && !(await page.locator('#password').isVisible())
      && (await page.textContent('main')).includes('sign in with a passkey'));
    await shot(page, 'signin-step-up');
    // The relying party is not there: the request the browser makes to it is enough.
    const toRp = page.waitForEvent('requestfailed', (req) => req.url().startsWith(REDIRECT));
    await page.click('#passkey-signin');
    const back = new URL((await toRp).url());
    // Let the browser's error page for the unreachable host finish loading
    // before the next navigation.
    await page.waitForLoadState('load');
    await page.waitForTimeout(200);
    check('after the passkey: back at the relying party with a code', back.searchParams.get('code'), back.href);
    const tok = await fetch(srv.https('/token'), { method: 'POST', body: new URLSearchParams({
      grant_type: 'authorization_code', code: back.searchParams.get('code') || '', redirect_uri: REDIRECT,
      client_id: 'web', code_verifier: verifier }) });
    const tj = await tok.json();
    const idt = tj.id_token ? JSON.parse(Buffer.from(tj.id_token.split('.')[1], 'base64url')) : {};
    checkEq('... the ID token: acr phishing-resistant, amr hwk user mfa, alice',
      [idt.acr, idt.amr, idt.sub], ['urn:regain:acr:phishing-resistant', ['hwk', 'user', 'mfa'], sub]);

    // ---- tampered, replayed and rolled-back assertions -----------------------------------
    await signOut();
    let tamper = null;
    let lastBody = null;
    await page.route('**/login/passkey', async (route) => {
      const body = JSON.parse(route.request().postData());
      if (tamper) tamper(body.credential.response);
      lastBody = body;
      await route.continue({ postData: JSON.stringify(body) });
    });
    const attempt = async (fn) => {
      tamper = fn;
      await page.goto(srv.https('/account/security'));
      const answer = page.waitForResponse((r) => r.url().endsWith('/login/passkey'));
      await page.click('#passkey-signin');
      const res = await answer;
      // A success navigates (the script follows the redirect): wait for it.
      if (res.status() === 200)
        await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Sign-in methods');
      await page.waitForLoadState();
      return { status: res.status(), body: await res.json().catch(() => ({})) };
    };
    const lastAudit = () => q("select type || ' ' || outcome || ' ' || coalesce(reason, '') from audit_events "
      + "where detail->>'kind' = 'passkey' order by id desc limit 1");
    // A refusal before the signature verified is logged, not audited: anyone
    // who knows a credential id could otherwise fill its owner's audit trail.
    const failures = () => q("select count(*) from audit_events where detail->>'kind' = 'passkey' "
      + "and outcome = 'failure'");
    const failuresBefore = failures();

    let r = await attempt((resp) => {
      const ad = Buffer.from(resp.authenticatorData, 'base64url');
      createHash('sha256').update('evil.example').digest().copy(ad, 0);
      resp.authenticatorData = b64url(ad);
    });
    checkEq('an RP ID hash of another site: 403 passkey_refused', [r.status, r.body.error], [403, 'passkey_refused']);
    checkEq('... not audited (nothing verified yet)', failures(), failuresBefore);
    const refusedBody = JSON.stringify(r.body);

    r = await attempt((resp) => {
      const sig = Buffer.from(resp.signature, 'base64url');
      sig[sig.length - 1] ^= 1;
      resp.signature = b64url(sig);
    });
    checkEq('a tampered signature: 403 passkey_refused', [r.status, r.body.error], [403, 'passkey_refused']);
    checkEq('... not audited either', failures(), failuresBefore);
    checkEq('... the same answer as the RP ID hash', JSON.stringify(r.body), refusedBody);

    r = await attempt(null);
    checkEq('an untouched assertion: 200', r.status, 200);
    const replayed = await page.evaluate(async (body) => {
      const res = await fetch('/login/passkey', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    }, lastBody);
    checkEq('the same assertion again (its challenge used): 400 invalid_challenge',
      [replayed.status, replayed.body.error], [400, 'invalid_challenge']);

    // The authenticator's copy of the key goes back to an older counter: what a
    // cloned authenticator would present.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    require_('the virtual authenticator holds the passkey', credentials.length === 1, JSON.stringify(credentials));
    const stored = Number(q('select sign_count from webauthn_credentials'));
    check('the stored counter grew with each use', stored >= 3, String(stored));
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credentials[0].credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credentials[0], signCount: 0 } });
    await signOut();
    r = await attempt(null);
    checkEq('a counter that went backwards: 403 passkey_refused', [r.status, r.body.error], [403, 'passkey_refused']);
    checkEq('... audited as method.counter_rollback', lastAudit(), 'method.counter_rollback failure counter_rollback');
    checkEq('... and the stored counter did not move', Number(q('select sign_count from webauthn_credentials')),
      stored);
    await page.unroute('**/login/passkey');
  } finally {
    await browser.close();
  }
});
