import { CONSOLE_CSP } from '../../apps/gateway/src/console/console-assets';
import { signIn, startConsoleHarness, type ConsoleHarness } from './console-fixtures';

/** The console as served by the gateway: sign-in, sign-out, client routes that survive a reload, its security headers. */
describe('console: serving and signing in', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness();
  }, 90_000);
  afterAll(() => h?.stop(), 60_000);

  it('serves the console at / with a strict Content-Security-Policy, and client routes as the same page', async () => {
    const base = h.ctx.platform.gatewayUrl;
    const root = await fetch(`${base}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^text\/html/);
    expect(root.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    const html = await root.text();

    // A client route answers the same page (a reload of /runs/<id> works); the API keeps its 404s.
    const deep = await fetch(`${base}/runs/0190a0b0-0000-7000-8000-000000000000`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const api404 = await fetch(`${base}/v1/nothing-here`, { headers: { authorization: `Bearer ${h.ctx.apiKey}` } });
    expect(api404.status).toBe(404);
    expect(api404.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(`${base}/assets/nothing.js`)).status).toBe(404);

    // Its script is served from the build, compressed for a browser that accepts it, cached for good.
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('says when an API key is wrong, signs in with the right one, keeps it across a reload, and signs out', async () => {
    const page = await h.open('/', { signedIn: false });
    await page.getByLabel('API key').fill('not-a-key-of-this-project');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), 'That API key is not valid.');
    // The browser logs the 401 of the check; that one is expected.
    h.browser.problems.splice(0, h.browser.problems.length, ...h.browser.problems.filter((p) => !/status of 401/.test(p)));

    await signIn(page, h.ctx.apiKey);
    await page.reload();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    // The key is in this tab's session storage only; no cookie, no local storage.
    expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, '']);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(h.browser.problems).toEqual([]);
  });
});

async function expectText(locator: import('playwright-core').Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).waitFor();
}
