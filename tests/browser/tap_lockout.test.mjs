// Wrong Temporary Access Passes typed in a real browser count against the
// account named on the TAP form (issue 6): headless Chromium, playwright-core.
//   - the TAP form has a username field (autocomplete "username"), prefilled
//     from the relying party's login_hint;
//   - the policy's maxFailedAttempts wrong passes lock that account's TAP
//     (tap.locked audited once); the right pass is refused afterwards;
//   - on the form without a request the person types the name: a known and
//     an unknown name get the same page, and only the known account's pass
//     counts the failure.
// Screenshots go to build/test-artifacts/browser/ (or $REGAIN_ARTIFACTS).
import { createHash, randomBytes } from 'node:crypto';
import { check, checkEq, require_, run } from '../interop/fixture.mjs';
import { launchChromium, newPage, phoneContext, shot } from './browser.mjs';

const REDIRECT = 'https://rp.example/cb';
const MAX_FAILURES = 3;
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const wrongTap = () => [...randomBytes(16)].map((b) => ALPHABET[b % 31]).join('');

// Opens the TAP form on the page shown, fills it and submits; returns the
// text of the page that answers.
async function typeTap(page, tap, username) {
  await page.click('summary:has-text("temporary access pass")');
  if (username !== undefined) await page.fill('#tap-username', username);
  await page.fill('#tap', tap);
  await Promise.all([page.waitForNavigation(), page.locator('form[action="/login/tap"] button[type=submit]').click()]);
  return page.textContent('main');
}

await run('browser_tap_lockout', async ({ srv, fetch, psql }) => {
  const erin = srv.addUser('erin', 'a password');
  const fred = srv.addUser('fred', 'another password');
  srv.addClient('web', { redirectUris: [REDIRECT], grants: 'authorization_code', scopes: 'openid', auth: 'none' });
  const admin = srv.addClient('tap-admin', { grants: 'client_credentials', scopes: 'admin', auth: 'client_secret_basic' });
  const basic = Buffer.from(`tap-admin:${encodeURIComponent(admin.client_secret)}`).toString('base64');
  const tr = await fetch(srv.https('/token'), {
    method: 'POST', headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
  });
  const at = (await tr.json()).access_token;
  require_('admin token', tr.status === 200 && at);
  const api = (method, p, body) => fetch(srv.https(p), {
    method, headers: { authorization: `Bearer ${at}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const pr = await api('PATCH', '/admin/v1/policies/temporaryAccessPass', { maxFailedAttempts: MAX_FAILURES });
  require_(`the policy locks after ${MAX_FAILURES} wrong passes`, pr.status === 204 || pr.status === 200, pr.status);
  const issue = async (user) => {
    const r = await api('POST', `/admin/v1/users/${user}/authentication/temporaryAccessPassMethods`,
      { lifetimeInMinutes: 60 });
    const j = await r.json();
    require_(`a TAP for ${user}`, r.status === 201 && j.temporaryAccessPass, j);
    return j;
  };
  const erinTap = await issue('erin');
  const fredTap = await issue('fred');

  const browser = await launchChromium();
  try {
    const context = await phoneContext(browser, { height: 1000, noAutofill: true });
    const page = await newPage(context);

    // ---- a relying party names the account: login_hint prefills the TAP form ------------
    const challenge = b64url(createHash('sha256').update(b64url(randomBytes(32))).digest());
    await page.goto(srv.https('/authorize?' + new URLSearchParams({
      client_id: 'web', redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 'st-1',
      nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256', login_hint: 'erin',
    })));
    await page.click('summary:has-text("temporary access pass")');
    const field = page.locator('form[action="/login/tap"] input[name="username"]');
    checkEq('the TAP form has a username field', await field.count(), 1);
    checkEq('... autocomplete="username"', await field.getAttribute('autocomplete'), 'username');
    checkEq('... prefilled from login_hint', await field.inputValue(), 'erin');
    await shot(page, 'tap-form-username');
    await page.reload();

    const texts = [];
    for (let i = 0; i < MAX_FAILURES; i++) texts.push(await typeTap(page, wrongTap()));
    check(`${MAX_FAILURES} wrong passes: each refused with the same message`,
      texts.every((t) => t.includes('not valid') && t === texts[0]), texts);
    checkEq('... the name stays in the form', await page.locator('#tap-username').inputValue(), 'erin');
    checkEq("... counted on erin's TAP, which is locked",
      psql(`select failures || ' ' || (locked_at is not null) from taps where id = '${erinTap.id}'`),
      `${MAX_FAILURES} true`);
    checkEq('... tap.locked audited once, against erin',
      psql(`select count(*) from audit_events where type = 'tap.locked' and subject_user = '${erin}'`), '1');
    const after = await typeTap(page, erinTap.temporaryAccessPass);
    check('the right pass after the lock: refused, the same message', after === texts[0], after);
    checkEq('... no session', psql('select count(*) from sessions'), '0');
    const gr = await api('GET', `/admin/v1/users/erin/authentication/temporaryAccessPassMethods/${erinTap.id}`);
    checkEq('the administrator sees Locked', (await gr.json()).methodUsabilityReason, 'Locked');
    await shot(page, 'tap-locked');

    // ---- no request: the person types the name; known and unknown look the same ---------
    const p2 = await newPage(await browser.newContext({ ignoreHTTPSErrors: true }));
    await p2.goto(srv.https('/account/security'));
    checkEq('the account sign-in page: the TAP username field is empty',
      await p2.locator('#tap-username').inputValue(), '');
    const known = await typeTap(p2, wrongTap(), 'Fred');
    const knownValue = await p2.locator('#tap-username').inputValue();
    const unknown = await typeTap(p2, wrongTap(), 'nobody-by-this-name');
    check('a known and an unknown name: the same page', known === unknown && known.includes('not valid'),
      `${known}\n---\n${unknown}`);
    checkEq('... each name comes back as typed', [knownValue, await p2.locator('#tap-username').inputValue()],
      ['Fred', 'nobody-by-this-name']);
    checkEq("... the known name's wrong pass counts on fred's TAP (names are case-insensitive)",
      psql(`select failures from taps where id = '${fredTap.id}'`), '1');
    checkEq('... tap.failed against fred once, and one without an account',
      psql(`select count(*) filter (where subject_user = '${fred}') || ' ' || count(*) filter (where subject_user is null) `
        + `from audit_events where type = 'tap.failed' `
        + `and id > (select max(id) from audit_events where type = 'tap.failed' and subject_user = '${erin}')`), '1 1');
    const ok = await typeTap(p2, fredTap.temporaryAccessPass, 'fred');
    check("fred's right pass still works (one failure, below the limit)", /\/account\/security$/.test(p2.url()),
      `${p2.url()} ${ok}`);
  } finally {
    await browser.close();
  }
});
