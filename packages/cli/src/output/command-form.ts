/**
 * The form of the `tinyagi` command that works where the user is. Installed, `tinyagi` is on
 * PATH and the hints say `tinyagi …`. In a checkout, started by the root's `pnpm start` or
 * `pnpm tinyagi …` with no `tinyagi` on PATH, the form that works is `pnpm tinyagi …` (from the
 * checkout's root, as the README says), and the hints this process prints say that. Run by
 * `npx tinyagi …` (or `npm exec`: npm sets `npm_lifecycle_event=npx` for both, and
 * `npm_lifecycle_script` to the command), `tinyagi` may be on no PATH but npx's, so the form that
 * works is `npx tinyagi …`.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The checkout's root package (package.json `name`) whose scripts `start` and `tinyagi` run this CLI. */
const CHECKOUT_PACKAGE = 'tinyagi-monorepo';
const CHECKOUT_SCRIPTS = new Set(['start', 'tinyagi']);

function onPath(command: string, env: Env): boolean {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** npx ran `tinyagi` itself (its `npm_lifecycle_script` is the command it ran, `'tinyagi'`), not a tool (`npx vitest`) that runs this CLI inside. */
function byNpx(env: Env): boolean {
  return env['npm_lifecycle_event'] === 'npx' && /^['"]?tinyagi\b/.test(env['npm_lifecycle_script'] ?? '');
}

/** `tinyagi`; `npx tinyagi` when npx ran it; `pnpm tinyagi` when the checkout's scripts did and `tinyagi` is not a command. */
export function tinyagiCommand(env: Env = process.env): string {
  if (byNpx(env)) return 'npx tinyagi';
  const fromCheckout = env['npm_package_name'] === CHECKOUT_PACKAGE && CHECKOUT_SCRIPTS.has(env['npm_lifecycle_event'] ?? '');
  return fromCheckout && !onPath('tinyagi', env) ? 'pnpm tinyagi' : 'tinyagi';
}

/** `text` with each command it gives (`` `tinyagi …` ``, or after ": ") in the form that works here. */
export function inCommandForm(text: string, env: Env = process.env): string {
  const command = tinyagiCommand(env);
  return command === 'tinyagi' ? text : text.replace(/(^|`|: {1,2})tinyagi (?=[a-z])/g, `$1${command} `);
}
