/**
 * Where TinyOffice (apps/tinyoffice) is, when this CLI runs from a checkout that has it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** apps/tinyoffice of the monorepo (src/office or dist/office -> ../../../../apps/tinyoffice). */
export function tinyOfficeDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../../../apps/tinyoffice/', import.meta.url));
  return existsSync(`${dir}package.json`) ? dir : undefined;
}

export function officeHint(): string {
  return tinyOfficeDir() !== undefined ? 'Open TinyOffice (the web portal): tinyagi office' : 'TinyOffice (the web portal) is not part of this installation; the CLI and the API cover everything.';
}

/** The static export the daemon serves at / (built by `pnpm build`), when it exists. */
export function tinyOfficeExportDir(): string | undefined {
  const dir = tinyOfficeDir();
  return dir !== undefined && existsSync(`${dir}out/index.html`) ? `${dir}out` : undefined;
}
