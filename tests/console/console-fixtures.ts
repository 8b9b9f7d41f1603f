import type { Page } from 'playwright-core';
import { startBrowser, startTestPlatform, type TestBrowser, type TestPlatform, type TestPlatformOptions } from '@trellis/testing';

/** The whole platform, its console served by the gateway, and a headless Chromium to drive it. */
export interface ConsoleHarness {
  ctx: TestPlatform;
  browser: TestBrowser;
  /** A new page (fresh session), signed in with the project's key unless `signedIn: false`. */
  open(path?: string, options?: { signedIn?: boolean }): Promise<Page>;
  stop(): Promise<void>;
}

export async function startConsoleHarness(options: TestPlatformOptions = {}): Promise<ConsoleHarness> {
  // The browser first: without Chromium the test fails at once, saying how to install it.
  const browser = await startBrowser();
  let ctx: TestPlatform;
  try {
    ctx = await startTestPlatform(options);
  } catch (err) {
    await browser.close();
    throw err;
  }
  return {
    ctx,
    browser,
    async open(path = '/', { signedIn = true } = {}) {
      const page = await browser.newPage(ctx.platform.gatewayUrl);
      if (signedIn) await signIn(page, ctx.apiKey);
      if (path !== '/' || !signedIn) await page.goto(path);
      return page;
    },
    async stop() {
      await browser.close();
      await ctx.stop();
    },
  };
}

/** Signs in through the form, as a user does, and waits for the runs page. */
export async function signIn(page: Page, apiKey: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
}
