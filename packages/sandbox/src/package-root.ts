/**
 * Where this package's files outside `dist` are (bin/: sandbox-init and the self-test's probe):
 * the package root, one folder up from src/ or dist/. In the `tinyagi` CLI's bundle
 * (`__TINYAGI_BUNDLED__`) this code lives in the CLI's dist/chunks, so the root is found by
 * resolving this package from there (as core's package-root.ts does).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __TINYAGI_BUNDLED__: boolean | undefined;

export const SANDBOX_ROOT: string =
  typeof __TINYAGI_BUNDLED__ !== 'undefined' && __TINYAGI_BUNDLED__ ? dirname(createRequire(import.meta.url).resolve('@tinyagi/sandbox/package.json')) : fileURLToPath(new URL('../', import.meta.url));
