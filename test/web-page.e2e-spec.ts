/**
 * The demo's web page (GET /) in headless Chromium (Debian's package, driven by playwright-core),
 * against the demo on a real Redis:
 * - two browser contexts (a laptop and a phone) sign in as one user; "Your sessions" lists both with
 *   device, user agent, created and last seen, this one marked; the laptop signs the phone out, and
 *   the phone's next click lands on the sign-in form;
 * - "sign out all other sessions"; editing the cart;
 * - the cookie the browser actually stored: HttpOnly (invisible to document.cookie), SameSite=Lax,
 *   Path=/, not Secure on this plain-http demo (COOKIE_SECURE=false); a Secure `__Host-` cookie
 *   (COOKIE_SECURE=true) works on http://localhost and http://127.0.0.1, which Chromium treats as
 *   secure contexts;
 * - an unsafe request from another origin of the same site (another port), which carries the
 *   SameSite=Lax cookie, is refused by the CSRF check and the victim stays signed in.
 * Screenshots go to test-artifacts/web-page/ (gitignored); docs/web-page.png (the README's) is
 * written when missing or with UPDATE_DOCS_SCREENSHOT=1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSWORD, demoEnv, startDemoApp, uniqueUser, type DemoApp } from './support/demo-app.js';
import { artifactsDir, chromiumMissing, DEVICES, docsDir, launchChromium } from './support/browser.js';
import { startSuiteRedis, type SuiteRedis } from './support/suite-redis.js';

const missing = chromiumMissing();
if (missing) console.warn(missing);
const describeInBrowser = missing ? describe.skip : describe;

const portOf = (demo: DemoApp): number => (demo.http.address() as AddressInfo).port;

// Chromium start-up and page loads on a busy 2-core machine; each wait below is bounded on its own.
jest.setTimeout(60_000);
const UI_TIMEOUT = 15_000;

let redis: SuiteRedis;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (missing) return;
  redis = await startSuiteRedis();
  browser = await launchChromium();
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
});

afterAll(async () => {
  await browser?.close();
  await redis?.stop();
});

async function device(userAgent: string): Promise<Page> {
  const context = await browser.newContext({ userAgent, viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(UI_TIMEOUT);
  contexts.push(context);
  return context.newPage();
}

async function signIn(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await page.fill('#username', username);
  await page.fill('#password', DEMO_PASSWORD);
  await page.click('#login-button');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await expect(page.locator('#whoami').textContent()).resolves.toBe(username);
}

/** The "Your sessions" rows as the page shows them. */
async function sessionRows(page: Page) {
  return page.locator('#sessions tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({
      current: row.getAttribute('data-current') === 'true',
      device: row.querySelector('.device')?.textContent ?? '',
      agent: row.querySelector('.agent')?.textContent ?? '',
      created: row.querySelector('.created')?.textContent ?? '',
      lastSeen: row.querySelector('.last-seen')?.textContent ?? '',
      marked: row.querySelector('.badge')?.textContent ?? null,
      signOut: row.querySelector('button.sign-out-session') !== null,
    })),
  );
}

async function screenshot(page: Page, name: string, forDocs = false): Promise<void> {
  await page.screenshot({ path: join(artifactsDir('web-page'), `${name}.png`), fullPage: true });
  const docs = join(docsDir(), 'web-page.png');
  if (forDocs && (process.env.UPDATE_DOCS_SCREENSHOT === '1' || !existsSync(docs))) {
    await page.screenshot({ path: docs, fullPage: true });
  }
}

describeInBrowser('the demo web page (plain http, COOKIE_SECURE=false)', () => {
  let demo: DemoApp;
  let base: string;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, 'session-id', 'web'));
    base = `http://127.0.0.1:${portOf(demo)}`;
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('two devices of one user: the laptop signs the phone out, and the phone\'s next click lands on the sign-in form', async () => {
    const user = uniqueUser('web');
    const laptop = await device(DEVICES.laptop);
    const phone = await device(DEVICES.phone);
    await signIn(laptop, base, user);
    await laptop.fill('#sku', 'book-1');
    await laptop.fill('#qty', '2');
    await laptop.click('#cart-add');
    await laptop.locator('#cart-items li[data-sku="book-1"]').waitFor();
    await signIn(phone, base, user);

    await laptop.click('#refresh');
    await laptop.locator('#sessions tbody tr').nth(1).waitFor();
    const rows = await sessionRows(laptop);
    expect(rows).toHaveLength(2);
    expect(rows.filter((r) => r.current)).toEqual([
      expect.objectContaining({ device: 'Chrome on Linux', agent: DEVICES.laptop, marked: 'This device', signOut: false }),
    ]);
    expect(rows.filter((r) => !r.current)).toEqual([
      expect.objectContaining({ device: 'Safari on iOS', agent: DEVICES.phone, marked: null, signOut: true }),
    ]);
    for (const row of rows) {
      expect(row.created).not.toBe('');
      expect(row.lastSeen).not.toBe('');
    }
    await screenshot(laptop, 'laptop-two-sessions', true);

    await laptop.click('#sessions tr[data-current="false"] button.sign-out-session');
    await laptop.locator('#status', { hasText: 'Signed out Safari on iOS.' }).waitFor();
    await laptop.locator('#sessions tbody tr').nth(1).waitFor({ state: 'detached' });
    expect(await sessionRows(laptop)).toHaveLength(1);

    // The phone still shows the signed-in page; its next click finds the session gone.
    await phone.click('#refresh');
    await phone.locator('#login-view').waitFor({ state: 'visible' });
    expect(await phone.locator('#app-view').isHidden()).toBe(true);
    expect(await phone.locator('#status').textContent()).toBe('Your session has ended. Please sign in again.');
    // The server cleared the dead cookie.
    expect((await phone.context().cookies(base)).map((c) => c.name)).not.toContain('sid');
    await screenshot(phone, 'phone-signed-out');
    // The laptop is unaffected, cart included.
    await laptop.reload();
    await laptop.locator('#cart-items li[data-sku="book-1"]', { hasText: '× 2' }).waitFor();
  });

  it('stores the session cookie HttpOnly, SameSite=Lax, Path=/ (not Secure on plain http), out of reach of scripts', async () => {
    const page = await device(DEVICES.laptop);
    await signIn(page, base, uniqueUser('flags'));
    const cookies = await page.context().cookies(base);
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'sid', domain: '127.0.0.1', path: '/', httpOnly: true, secure: false, sameSite: 'Lax' }),
    ]);
    expect(cookies[0].value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(cookies[0].expires).toBeGreaterThan(Date.now() / 1000);
    expect(await page.evaluate('document.cookie')).not.toContain('sid=');
  });

  it('signs out all other sessions; each one\'s next click lands on the sign-in form', async () => {
    const user = uniqueUser('others');
    const laptop = await device(DEVICES.laptop);
    const phone = await device(DEVICES.phone);
    const tablet = await device(DEVICES.tablet);
    for (const page of [laptop, phone, tablet]) await signIn(page, base, user);
    await phone.click('#refresh');
    await phone.locator('#sessions tbody tr').nth(2).waitFor();

    await phone.click('#sign-out-others');
    await phone.locator('#status', { hasText: 'All other sessions are signed out.' }).waitFor();
    await phone.locator('#sessions tbody tr').nth(1).waitFor({ state: 'detached' });
    expect(await sessionRows(phone)).toEqual([expect.objectContaining({ current: true, device: 'Safari on iOS' })]);
    for (const page of [laptop, tablet]) {
      await page.fill('#sku', 'late');
      await page.click('#cart-add');
      await page.locator('#login-view').waitFor({ state: 'visible' });
    }
  });

  it('edits the cart: add, change a quantity, remove', async () => {
    const page = await device(DEVICES.laptop);
    await signIn(page, base, uniqueUser('cart'));
    for (const [sku, qty] of [['apple', '3'], ['pear', '1'], ['apple', '5']]) {
      await page.fill('#sku', sku);
      await page.fill('#qty', qty);
      await page.click('#cart-add');
      await page.locator(`#cart-items li[data-sku="${sku}"]:has-text("× ${qty}")`).waitFor();
    }
    await page.click('#cart-items li[data-sku="pear"] button.remove');
    await page.locator('#cart-items li[data-sku="pear"]').waitFor({ state: 'detached' });
    await page.reload();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    expect(await page.locator('#cart-items li').allTextContents()).toEqual(['apple × 5Remove']);
  });

  describe('a page of another origin on the same site (another port)', () => {
    let attacker: Server;
    let attackerBase: string;

    beforeAll(async () => {
      // Its page POSTs to the demo's logout: as a no-cors fetch, and as a form submission.
      attacker = createServer((req, res) => {
        const target = `${base}/auth/logout`;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(
          req.url === '/form'
            ? `<form id="f" method="post" action="${target}"></form><script>document.getElementById('f').submit()</script>`
            : `<script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include' })
                 .then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });</script>`,
        );
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerBase = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => attacker?.close(() => resolve()));
    });

    it('cannot sign the victim out: the CSRF check refuses the request, which carries the SameSite=Lax cookie', async () => {
      const victim = await device(DEVICES.laptop);
      await signIn(victim, base, uniqueUser('victim'));

      const tab = await victim.context().newPage();
      await tab.goto(`${attackerBase}/`);
      await tab.waitForFunction('document.title === "sent" || document.title === "failed"');
      expect(await tab.title()).toBe('sent'); // an opaque response: the request did go out

      // A form submission navigates to the answer, so the refusal is visible.
      const answer = tab.waitForResponse((res) => res.url() === `${base}/auth/logout`);
      await tab.goto(`${attackerBase}/form`);
      const refused = await answer;
      expect(refused.status()).toBe(403);
      const request = refused.request();
      expect(await request.headerValue('sec-fetch-site')).toBe('same-site');
      expect(await request.headerValue('cookie')).toMatch(/(^|; )sid=[A-Za-z0-9_-]{32}/);
      expect(await tab.locator('body').textContent()).toContain('Cross-origin request refused');

      await victim.click('#refresh');
      await victim.locator('#app-view').waitFor({ state: 'visible' });
      expect(await victim.locator('#login-view').isHidden()).toBe(true);
    });
  });
});

describeInBrowser('a Secure __Host- cookie on plain http (COOKIE_SECURE=true)', () => {
  let demo: DemoApp;
  let port: number;

  beforeAll(async () => {
    demo = await startDemoApp(demoEnv(redis, 'session-id', 'websecure', { COOKIE_SECURE: 'true' }));
    port = portOf(demo);
  });

  afterAll(async () => {
    await demo?.close();
  });

  // Loopback origins are "potentially trustworthy" (a secure context) for Chromium, which then
  // stores and sends Secure cookies over plain http. A LAN address (http://192.168.x.y) is not.
  it.each(['localhost', '127.0.0.1'])('works on http://%s: a secure context for Chromium, which keeps and sends the Secure cookie', async (host) => {
    const base = `http://${host}:${port}`;
    const page = await device(DEVICES.laptop);
    await signIn(page, base, uniqueUser('hostonly'));
    expect(await page.evaluate('window.isSecureContext')).toBe(true);
    expect(await page.context().cookies(base)).toEqual([
      expect.objectContaining({ name: '__Host-sid', domain: host, path: '/', httpOnly: true, secure: true, sameSite: 'Lax' }),
    ]);
    // The cookie is sent back: a reload stays signed in.
    await page.reload();
    await page.locator('#app-view').waitFor({ state: 'visible' });
  });
});
