/**
 * Kind modules for a test's TINYAGI_HOME (docs/kinds.md): a module there is loaded by every
 * tinyagi process of that home at start, as a plugin's would be.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A check kind (`coverage`) and a forge (`folder-forge`) of a plugin's, with kind-own keys (fixtures/binding-kinds.mjs). */
export const BINDING_KINDS_MODULE = fileURLToPath(new URL('../fixtures/binding-kinds.mjs', import.meta.url));

/** Adds `file` to `home`'s kind modules (a file in TINYAGI_HOME/kinds/ that re-exports it); call before the daemon starts. */
export function addKindModule(home: string, file: string): void {
  mkdirSync(join(home, 'kinds'), { recursive: true });
  writeFileSync(join(home, 'kinds', basename(file).replace(/\.[^.]+$/, '.mjs')), `export * from ${JSON.stringify(pathToFileURL(file).href)};\n`);
}
