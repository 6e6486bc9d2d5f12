// Shared by the browser tests: Debian's Chromium through playwright-core, a
// phone-sized page, a WebAuthn virtual authenticator, and screenshots kept
// as test artifacts.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { comment, ROOT } from '../interop/fixture.mjs';

// The sanitizer build answers about three times slower.
export const SLOW = process.env.REGAIN_SANITIZED === '1' ? 3 : 1;
export const TIMEOUT = 15000 * SLOW;
export const ARTIFACTS = process.env.REGAIN_ARTIFACTS || path.join(ROOT, 'build', 'test-artifacts', 'browser');

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // Chromium refuses its sandbox as root (containers, CI).
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
  });
}

// A fresh context (cookie jar) at a phone's width. The server's certificate
// is the test's own, so the origin stays https://localhost:PORT.
// noAutofill: the page sees no passkey autofill (conditional mediation), as
// for a person who has no passkey yet.
export async function phoneContext(browser, { height = 900, noAutofill = false } = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 414, height } });
  if (noAutofill) {
    await context.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
  }
  return context;
}

export async function newPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  return page;
}

// A platform authenticator with user verification that always consents:
// { cdp, authenticatorId } for inspecting or changing its credentials.
export async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  comment(`screenshot: ${path.relative(ROOT, file)}`);
}
