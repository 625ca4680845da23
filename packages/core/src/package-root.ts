/**
 * Where this package's files outside `dist` are (drizzle/, templates/): the package root.
 * From src/ or dist/ that is one folder up. The `tinyagi` CLI ships its daemon as one bundle
 * (packages/cli/scripts/bundle.mjs defines `__TINYAGI_BUNDLED__`): there this module's code
 * lives in the CLI's dist/chunks, so the root is found by resolving this package from there.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __TINYAGI_BUNDLED__: boolean | undefined;

export const CORE_ROOT: string =
  typeof __TINYAGI_BUNDLED__ !== 'undefined' && __TINYAGI_BUNDLED__ ? dirname(createRequire(import.meta.url).resolve('@tinyagi/core/package.json')) : fileURLToPath(new URL('../', import.meta.url));
