/**
 * `prepack` / `postpack` of the tinyagi package: TinyOffice's static export
 * (apps/tinyoffice/out, made by `pnpm build`) is copied into office/ for the tarball and removed
 * again afterwards, so `npm i -g tinyagi` serves the portal with no build on the user's machine
 * (src/office/locate.ts finds it there). Why a copy at pack time and not a build step: TinyOffice's
 * tests start this CLI, so its build comes after this package's in turbo's graph.
 *
 *   node scripts/office-into-package.mjs copy | remove
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, 'office');
const source = fileURLToPath(new URL('../../../apps/tinyoffice/out', import.meta.url));

const action = process.argv[2];
rmSync(target, { recursive: true, force: true });
if (action === 'copy') {
  if (!existsSync(join(source, 'index.html'))) {
    console.error(`office-into-package: ${source} has no index.html: run \`pnpm build\` at the repository root first (the package would ship without TinyOffice).`);
    process.exit(1);
  }
  cpSync(source, target, { recursive: true });
} else if (action !== 'remove') {
  console.error('usage: node scripts/office-into-package.mjs copy | remove');
  process.exit(2);
}
