/**
 * The kind module files of a TINYAGI_HOME (kinds/*.js, *.mjs, *.ts, not *.d.ts), without loading
 * them or anything of TinyAGI: main.ts asks whether there are any before it decides what to load.
 * Also which home's modules are registered (kinds.ts registers them), so a process running
 * commands for one home after another (a test running `tinyagi` in-process) takes the previous
 * home's kinds out first: a home never sees kinds it does not have.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const KIND_MODULE = /^[^.].*\.(?:m?js|ts)$/;

export function kindsDir(home: string): string {
  return join(home, 'kinds');
}

/** The kind module file names in `dir`, sorted; [] when there is no such folder; throws any other error reading it. */
export function listKindModules(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return files.filter((f) => KIND_MODULE.test(f) && !f.endsWith('.d.ts')).sort();
}

/** True when loading `home`'s kind modules has something to load or to report (a folder that cannot be read). */
export function hasKindModules(home: string): boolean {
  try {
    return listKindModules(kindsDir(home)).length > 0;
  } catch {
    return true;
  }
}

/** The home whose kind modules are registered, and how to take them out again. */
let loaded: { home: string; unregister: (() => void)[] } | undefined;

/** True when `home`'s kind modules are the ones registered. */
export function homeKindsLoaded(home: string): boolean {
  return loaded?.home === home;
}

/** Takes out the kinds another home's modules registered (none in a process that serves one home). */
export function forgetOtherHomeKinds(home: string): void {
  if (loaded === undefined || loaded.home === home) return;
  for (const undo of loaded.unregister.reverse()) undo();
  loaded = undefined;
}

/** Records that `home`'s kind modules are registered; `unregister` takes out each registration. */
export function recordHomeKinds(home: string, unregister: (() => void)[]): void {
  loaded = { home, unregister };
}
