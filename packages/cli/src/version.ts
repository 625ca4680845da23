/**
 * The CLI's version: from its package.json (src/ and dist/ are both one folder below it), or
 * written into the bundle by scripts/bundle.mjs.
 */
import { readFileSync } from 'node:fs';

declare const __TINYAGI_VERSION__: string | undefined;

export const VERSION: string =
  typeof __TINYAGI_VERSION__ === 'string' ? __TINYAGI_VERSION__ : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
