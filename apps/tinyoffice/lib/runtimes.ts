/**
 * The registered runtimes as the forms offer them (GET /api/kinds): a runtime whose CLI is not
 * installed on the daemon's machine is marked so, with its install hint, and nothing says it
 * uses a CLI's login when there is no CLI.
 */
import type { RuntimeKindInfo } from '@tinyagi/client';

/** The runtime's CLI and whether the daemon found it on its PATH (absent for HTTP and in-process runtimes). */
export const runtimeCli = (runtime: RuntimeKindInfo): RuntimeKindInfo['cli'] => runtime.cli;

/** False only when the daemon said its CLI is not installed. */
export const isInstalled = (runtime: RuntimeKindInfo): boolean => runtimeCli(runtime)?.installed !== false;

/** How to install the runtime's CLI, for a runtime that is not installed. */
export function installHintOf(runtime: RuntimeKindInfo): string {
  const cli = runtimeCli(runtime);
  const how = runtime.installHint ?? runtime.verifiedVersions?.install;
  return `“${cli?.command ?? runtime.command ?? runtime.name}” is not on the daemon’s PATH${how ? `; install it with ${how}` : ''}`;
}

/** The runtime's option in a form's list: `claude (Claude Code)`, `… — not installed`. */
export function runtimeLabel(runtime: RuntimeKindInfo): string {
  return `${runtime.name} (${runtime.title})${isInstalled(runtime) ? '' : ' — not installed'}`;
}
