import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testEnv } from './env';

/** How to get the browser the console's tests need; the tests fail with it rather than skip. */
export const CHROMIUM_MISSING = (path: string) =>
  `Chromium is not installed at ${path}. The console's browser tests drive Debian's chromium package: ` +
  'install it with "apt-get update && apt-get install -y chromium" (.ci/run does so when it is missing), ' +
  'or set CHROMIUM_PATH to a Chromium or Chrome binary.';

/**
 * Flags for a headless Chromium on a CI machine: as root it needs `--no-sandbox`; without the
 * background-networking flags it keeps trying to reach Google and fills the log.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/** A headless Chromium whose pages record every script error, console error and CSP violation. */
export interface TestBrowser {
  browser: Browser;
  /** A new page in a fresh context (its own session storage), at `baseUrl`. */
  newPage(baseUrl: string, options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  /** What went wrong in any page so far: uncaught errors, `console.error`, CSP violations. A test expects none. */
  problems: string[];
  close(): Promise<void>;
}

export async function startBrowser(): Promise<TestBrowser> {
  const executablePath = testEnv.chromiumPath;
  if (!existsSync(executablePath)) throw new Error(CHROMIUM_MISSING(executablePath));
  // Loaded here, not at the top: half a second that no other test file of the harness should pay.
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  // playwright-core gives every launch a fresh temporary profile (user-data-dir) and removes it on close.
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  return {
    browser,
    problems,
    async newPage(baseUrl, options = {}) {
      const context = await browser.newContext({ baseURL: baseUrl, viewport: options.viewport ?? { width: 1400, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}
