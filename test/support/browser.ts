/**
 * Headless Chromium for the browser suite: Debian's `chromium` package driven by playwright-core
 * (never a downloaded browser). `.ci/run` installs the package when it is missing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser suite cannot run here, or null when it can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `Chromium not found at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; .ci/run does) ` +
        'or set CHROMIUM_PATH. The browser tests are skipped.';
}

/**
 * Flags for a quiet, reproducible, loopback-only browser. playwright-core gives every launch() a
 * fresh temporary profile (its own --user-data-dir, removed on close), so no state is carried over.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 30_000 });
}

/** test-artifacts/<suite>/ (gitignored), created on demand. */
export function artifactsDir(suite: string): string {
  const dir = fileURLToPath(new URL(`../../test-artifacts/${suite}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** docs/ of the repository, for the screenshot the README shows. */
export const docsDir = (): string => fileURLToPath(new URL('../../docs/', import.meta.url));

/** User agents that make two browser contexts look like two devices in "Your sessions". */
export const DEVICES = {
  laptop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  phone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  tablet:
    'Mozilla/5.0 (Linux; Android 14; Pixel Tablet) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
} as const;
