/**
 * The form of the `tinyagi` command that works where the user is. Installed, `tinyagi` is on
 * PATH and the hints say `tinyagi …`. In a checkout, started by the root's `pnpm start` or
 * `pnpm tinyagi …` with no `tinyagi` on PATH, the form that works is `pnpm tinyagi …` (from the
 * checkout's root, as the README says), and the hints this process prints say that.
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

/** `tinyagi`, or `pnpm tinyagi` when this process was started by the checkout's scripts and `tinyagi` is not a command. */
export function tinyagiCommand(env: Env = process.env): string {
  const fromCheckout = env['npm_package_name'] === CHECKOUT_PACKAGE && CHECKOUT_SCRIPTS.has(env['npm_lifecycle_event'] ?? '');
  return fromCheckout && !onPath('tinyagi', env) ? 'pnpm tinyagi' : 'tinyagi';
}

/** `text` with each command it gives (`` `tinyagi …` ``, or after ": ") in the form that works here. */
export function inCommandForm(text: string, env: Env = process.env): string {
  const command = tinyagiCommand(env);
  return command === 'tinyagi' ? text : text.replace(/(^|`|: {1,2})tinyagi (?=[a-z])/g, `$1${command} `);
}
