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

/** Whether TinyOffice can be opened: built (served by the daemon), in the checkout but not built, or absent. */
export function tinyOfficeState(): 'built' | 'unbuilt' | 'absent' {
  return tinyOfficeExportDir() !== undefined ? 'built' : tinyOfficeDir() !== undefined ? 'unbuilt' : 'absent';
}

/** The line `tinyagi start` prints about TinyOffice. */
export function officeHint(): string {
  switch (tinyOfficeState()) {
    case 'built':
      return 'Open TinyOffice (the web portal): tinyagi office';
    case 'unbuilt':
      return `TinyOffice (the web portal) is not built yet: ${BUILD_OFFICE}.`;
    default:
      return 'TinyOffice (the web portal) is not part of this installation; the CLI and the API cover everything.';
  }
}

/** What to run when apps/tinyoffice is there but its static export is not. */
export const BUILD_OFFICE = 'run `pnpm build` in the checkout, then `tinyagi restart`';

/** The static export the daemon serves at / (built by `pnpm build`), when it exists. */
export function tinyOfficeExportDir(): string | undefined {
  const dir = tinyOfficeDir();
  return dir !== undefined && existsSync(`${dir}out/index.html`) ? `${dir}out` : undefined;
}
