// Verified self-service recovery in a real browser (issue 7): Debian's
// headless Chromium (playwright-core) with a WebAuthn virtual authenticator,
// one `regain serve`, and an external identity-verification provider on
// loopback (tests/integration/idv_provider.py: OpenID Connect over TLS, PAR,
// ES256 ID tokens with verified_claims). A person who has lost every method:
//   a relying party asks for acr_values=urn:regain:acr:verified-recovery and
//   verified_claims -> regain's recovery page (name the account, choose the
//   provider) -> the provider -> back: the TAP shown once -> "sign in with
//   this pass" -> the account page -> a new passkey -> back at the relying
//   party with a code -> the ID token says acr verified-recovery and carries
//   the verified claims; the old methods are gone (policy removeOldMethods),
//   and the person signs in again with the new passkey.
// Screenshots go to build/test-artifacts/browser/ (or $REGAIN_ARTIFACTS).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { check, checkEq, require_, ROOT, run } from '../interop/fixture.mjs';
import { launchChromium, newPage, phoneContext, shot as shotAs, virtualAuthenticator } from './browser.mjs';

const REDIRECT = 'https://rp.example/recovered';
const ACR = 'urn:regain:acr:verified-recovery';
const GROUP = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const b64url = (buf) => Buffer.from(buf).toString('base64url');

const shot = (page, name) => shotAs(page, `recovery-${name}`);

// ---- the identity-verification provider, before regain starts (its issuer is in regain's config)
const idvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'regain-idv.'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
  path.join(idvDir, 'key.pem'), '-out', path.join(idvDir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
const identity = { claims: { given_name: 'Lin Mei', family_name: 'Zhang', birthdate: '1988-02-29' },
  trust_framework: 'eidas', assurance_level: 'high', txn: 'idv-browser-1' };
const idv = spawn('python3', [path.join(ROOT, 'tests', 'integration', 'idv_provider.py'), path.join(idvDir, 'cert.pem'),
  path.join(idvDir, 'key.pem'), JSON.stringify(identity)], { stdio: ['pipe', 'pipe', 'inherit'] });
if (process.env.REGAIN_PIDS_FILE) fs.appendFileSync(process.env.REGAIN_PIDS_FILE, `${idv.pid}\n`);
const idvIssuer = await new Promise((resolve) => {
  const rl = readline.createInterface({ input: idv.stdout });
  rl.once('line', (l) => resolve(l.trim()));
  setTimeout(() => resolve(''), 10000);
});
const stopIdv = () => {
  idv.stdin.end();
  idv.kill('SIGTERM');
  fs.rmSync(idvDir, { recursive: true, force: true });
};
process.on('exit', stopIdv);

await run('browser_recovery', async ({ srv, fetch, psql }) => {
  require_('the identity-verification provider started', idvIssuer.startsWith('https://localhost:'), idvIssuer);
  const q = (sql) => psql(sql);
  srv.addClient('web', { redirectUris: [REDIRECT], grants: 'authorization_code', scopes: 'openid', auth: 'none' });
  const sub = q(`insert into users (user_name, given_name, family_name, birthdate) values
    ('lin', 'Lin', 'Zhang', '1988-02-29') returning id`).split('\n')[0];
  q(`insert into groups (id, display_name) values ('${GROUP}', 'recovery')`);
  q(`insert into group_members (group_id, member_id, member_type) values ('${GROUP}', '${sub}', 'User')`);
  // What lin lost: a passkey and an authenticator app from long ago.
  q(`insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, backed_up,
      attestation_fmt, name, created_at) values ('${sub}', '\\x0f0e0d0c0b0a09080706050403020100', '\\x00', -7,
      false, false, 'none', 'Lost key', now() - interval '90 days')`);
  q(`insert into totp_authenticators (id, user_id, secret_sealed, name, confirmed, created_at) values
      (gen_random_uuid(), '${sub}', '\\x00', 'Lost phone', true, now() - interval '90 days')`);
  const policy = {
    mode: 'enabled', eligibleGroups: [GROUP], providers: [{ id: 'idv' }],
    matching: { mode: 'relaxed', rules: [
      { claim: 'given_name', attribute: 'name.givenName' },
      { claim: 'family_name', attribute: 'name.familyName' },
      { claim: 'birthdate', attribute: 'urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate' }] },
    evidence: { trustFrameworks: ['eidas'], assuranceLevels: ['substantial', 'high'], maxAgeSeconds: 600 },
    afterRecovery: { endSessions: true, removeOldMethods: true },
  };
  q(`select o_status from policy_put('recovery', '${JSON.stringify(policy)}'::jsonb, NULL, 'test', NULL, NULL)`);

  const browser = await launchChromium();
  try {
    const context = await phoneContext(browser);
    const page = await newPage(context);
    const { cdp, authenticatorId } = await virtualAuthenticator(context, page);

    // ---- the relying party asks for verified recovery ----------------------------------
    const verifier = b64url(Buffer.from('r'.repeat(48)));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const claims = { id_token: { verified_claims: { verification: { trust_framework: null },
      claims: { given_name: null, family_name: null, birthdate: null } } } };
    await page.goto(srv.https('/authorize?' + new URLSearchParams({ client_id: 'web', redirect_uri: REDIRECT,
      response_type: 'code', scope: 'openid', state: 'st', nonce: 'nn', code_challenge: challenge,
      code_challenge_method: 'S256', acr_values: ACR, claims: JSON.stringify(claims) })));
    check('the relying party\'s request opens the recovery page', page.url().includes('/recover?request=')
      && (await page.textContent('h1')) === 'Recover your account', page.url());
    await shot(page, 'start');
    await page.fill('#username', 'lin');
    await Promise.all([page.waitForURL(/\/recover\/callback/), page.click('form[action="/recover"] button')]);
    await page.waitForSelector('#tap');
    const tap = (await page.textContent('#tap')).trim();
    check('after the provider: the TAP, shown once, grouped', /^[A-Z0-9]{4}(-[A-Z0-9]{1,4})+$/.test(tap), tap);
    await shot(page, 'tap');
    checkEq('the attempt: tap_issued, matched to lin',
      q("select state || ' ' || matched_user from recovery_attempts order by created_at desc limit 1"),
      `tap_issued ${sub}`);

    await Promise.all([page.waitForURL(/\/account\/security/), page.click('form[action="/login/tap"] button')]);
    check('the pass signs in to the account page', (await page.textContent('main')).includes('once you have one'),
      await page.textContent('main'));

    // ---- a new passkey, then on to the relying party -----------------------------------
    const toRp = page.waitForEvent('requestfailed', (req) => req.url().startsWith(REDIRECT));
    await page.fill('#passkey-name', 'New laptop');
    await page.click('#passkey-add');
    const back = new URL((await toRp).url());
    await page.waitForLoadState('load');
    await page.waitForTimeout(200);
    check('after the passkey: back at the relying party with a code', back.searchParams.get('code'), back.href);
    checkEq('the new passkey is the only one; the lost app is gone',
      q(`select (select string_agg(name, ',') from webauthn_credentials where user_id = '${sub}') || ' / ' ||
         (select count(*) from totp_authenticators where user_id = '${sub}')`), 'New laptop / 0');
    const tok = await fetch(srv.https('/token'), { method: 'POST', body: new URLSearchParams({
      grant_type: 'authorization_code', code: back.searchParams.get('code') || '', redirect_uri: REDIRECT,
      client_id: 'web', code_verifier: verifier }) });
    const tj = await tok.json();
    const idt = tj.id_token ? JSON.parse(Buffer.from(tj.id_token.split('.')[1], 'base64url')) : {};
    checkEq('the ID token: lin, acr verified-recovery, amr tap', [idt.sub, idt.acr, idt.amr], [sub, ACR, ['tap']]);
    checkEq('... verified_claims from the provider', [idt.verified_claims?.verification?.trust_framework,
      idt.verified_claims?.claims?.given_name, idt.verified_claims?.claims?.birthdate], ['eidas', 'Lin Mei', '1988-02-29']);

    // ---- and lin signs in with the new passkey ------------------------------------------
    await page.goto(srv.https('/account/security'));
    await page.click('form[action="/logout"] button');
    await page.waitForLoadState();
    await context.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await page.goto(srv.https('/account/security'));
    await page.click('#passkey-signin');
    await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Sign-in methods');
    check('signed in again with the new passkey', (await page.textContent('main')).includes('lin'));
    await shot(page, 'after');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    checkEq('the browser holds one passkey', credentials.length, 1);
  } finally {
    await browser.close();
  }
}, { providers: [{ id: 'idv', type: 'oidc-ida', display_name: 'Identity check (eIDAS)', issuer: idvIssuer,
  client_id: 'regain', client_secret: 'idv-secret', ca_file: path.join(idvDir, 'cert.pem') }],
  recovery: { trust_frameworks: ['eidas'] } });
