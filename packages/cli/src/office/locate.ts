/**
 * Where TinyOffice's static export is. Two places, the checkout first:
 * - in a checkout of the repository, apps/tinyoffice/out (`pnpm build` makes it);
 * - in an installed `tinyagi` package, its office/ folder: the same export, copied in when the
 *   package is packed (scripts/office-into-package.mjs), so an install builds nothing.
 * Both URLs are two folders above this module, from src/office, dist/office and the bundle's
 * dist/chunks alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** apps/tinyoffice of the monorepo (src/office or dist/office -> ../../../../apps/tinyoffice), when this CLI runs from a checkout. */
export function tinyOfficeDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../../../apps/tinyoffice/', import.meta.url));
  try {
    return (JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { name?: string }).name === 'tinyoffice' ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The export inside the installed package (office/ beside dist/), when it is there. */
function packagedExportDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../office/', import.meta.url));
  return existsSync(`${dir}index.html`) ? dir.replace(/\/$/, '') : undefined;
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

/**
 * The static export the daemon serves at /, when it exists. A checkout serves its own build
 * (never a copy left in packages/cli/office by an interrupted `pnpm pack`).
 */
export function tinyOfficeExportDir(): string | undefined {
  const checkout = tinyOfficeDir();
  if (checkout !== undefined) return existsSync(`${checkout}out/index.html`) ? `${checkout}out` : undefined;
  return packagedExportDir();
}
