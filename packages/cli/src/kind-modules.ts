/**
 * The kind module files of a TINYAGI_HOME (kinds/*.js, *.mjs, *.ts, not *.d.ts), without loading
 * them or anything of TinyAGI: main.ts asks whether there are any before it decides what to load.
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
