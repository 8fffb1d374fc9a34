/**
 * Debian's headless Chromium for the browser tests (playwright-core with `executablePath`; no
 * browser download), with no background traffic a closed network would refuse.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether Chromium is installed; warns, naming the test and the package, when it is not. */
export function haveChromium(test: string): boolean {
  const have = existsSync(CHROMIUM);
  if (!have) console.warn(`${test} skipped: ${CHROMIUM} not found (apt-get install chromium)`);
  return have;
}

/** Playwright gives each launch a fresh, empty profile directory of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
}
