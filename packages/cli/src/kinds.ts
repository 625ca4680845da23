/**
 * Registers the kinds in core's registries, once per process: every `tinyagi` process does it
 * before it reads settings or builds its commands (main.ts, program.ts, daemon/run-entry.ts), so
 * settings validation, doctor, help texts and the API all see them. A library user of
 * @tinyagi/server or core registers the kinds it wants itself (docs/kinds.md).
 *
 * Two sources: the kinds built into the product (@tinyagi/channels/kinds), and kind modules in
 * TINYAGI_HOME/kinds/ — each `*.js`, `*.mjs` or `*.ts` file there exports `channelKinds`, an
 * array of channel kind descriptors, `runtimes`, an array of `{ kind, impl }` agent runtimes
 * (`adapter`, the old name of `impl`, is still read), `checkKinds` and/or `forgeKinds`, arrays of
 * a binding's check kinds and forges (`defineCheckKind`, `defineForgeKind`): a plugin's, a test's
 * throw-away one. A module that cannot be
 * loaded, or a descriptor the registry refuses, is reported and skipped.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerBuiltinChannelKinds } from '@tinyagi/channels/kinds';
import type { ChannelKind, RuntimeKind } from '@tinyagi/client/contract';
import { channelKinds, errorMessage, type RuntimeImpl } from '@tinyagi/core';
import { importModule } from './daemon/plugins.ts';
import { forgetOtherHomeKinds, homeKindsLoaded, kindsDir, listKindModules, recordHomeKinds } from './kind-modules.ts';

/** A binding's check kind and forge, as the task flow's registries take them (`@tinyagi/git-tasks`, loaded through the server). */
type TaskRegistries = typeof import('@tinyagi/server/internal');
type CheckKind = Parameters<TaskRegistries['checkKinds']['register']>[0];
type ForgeKind = Parameters<TaskRegistries['forgeKinds']['register']>[0];

let registered = false;

export function registerBuiltinKinds(): void {
  if (registered) return;
  registered = true;
  registerBuiltinChannelKinds((kind) => channelKinds.register(kind));
}

/** A runtime of a kind module: its descriptor and implementation (`adapter`: what modules written before the rename call `impl`). */
interface ModuleRuntime {
  kind: RuntimeKind;
  impl?: RuntimeImpl;
  adapter?: RuntimeImpl;
}

function moduleRuntimeImpl(runtime: ModuleRuntime): RuntimeImpl {
  const impl = runtime.impl ?? runtime.adapter;
  if (impl === undefined) throw new Error(`its runtime ${JSON.stringify(runtime.kind?.name)} has no impl`);
  return impl;
}

/** A module's check kinds and forges, in the registries the task flow reads (loaded only for a module that brings some). */
async function registerTaskKinds(checks: CheckKind[], forges: ForgeKind[]): Promise<(() => void)[]> {
  if (checks.length === 0 && forges.length === 0) return [];
  const registries = await import('@tinyagi/server/internal');
  return [...checks.map((kind) => registries.checkKinds.register(kind)), ...forges.map((kind) => registries.forgeKinds.register(kind))];
}

/**
 * The kind modules of `home` (TINYAGI_HOME/kinds/*), registered once; `warn` hears about each one
 * skipped. One home's at a time: a process has one home, and one that runs commands for another
 * (a test running `tinyagi` in-process against one home after another) first takes out the kinds
 * the previous home brought, so a home never sees kinds it does not have.
 */
export async function registerHomeKinds(home: string, warn: (message: string) => void): Promise<void> {
  if (homeKindsLoaded(home)) return;
  forgetOtherHomeKinds(home);
  const unregister: (() => void)[] = [];
  recordHomeKinds(home, unregister);
  const dir = kindsDir(home);
  let files: string[];
  try {
    files = listKindModules(dir);
  } catch (err) {
    warn(`kind modules not loaded: cannot read ${dir}: ${errorMessage(err)}`);
    return;
  }
  for (const file of files) {
    const path = join(dir, file);
    try {
      const module = (await importModule(pathToFileURL(path).href)) as { channelKinds?: unknown; runtimes?: unknown; checkKinds?: unknown; forgeKinds?: unknown };
      if (![module.channelKinds, module.runtimes, module.checkKinds, module.forgeKinds].some(Array.isArray)) throw new Error('it exports no channelKinds, runtimes, checkKinds or forgeKinds array');
      for (const kind of (module.channelKinds ?? []) as ChannelKind[]) unregister.push(channelKinds.register(kind));
      const runtimes = (module.runtimes ?? []) as ModuleRuntime[];
      if (runtimes.length > 0) {
        // The invoker, where runtimes are registered, is loaded only for a module that brings one.
        const { registerRuntime } = await import('@tinyagi/core');
        for (const runtime of runtimes) unregister.push(registerRuntime(runtime.kind, moduleRuntimeImpl(runtime)));
      }
      unregister.push(...(await registerTaskKinds((module.checkKinds ?? []) as CheckKind[], (module.forgeKinds ?? []) as ForgeKind[])));
    } catch (err) {
      warn(`kind module ${path} skipped: ${errorMessage(err)}`);
    }
  }
}

/**
 * The `tinyagi channel setup` flag that sets a secret of a channel kind: `--telegram-token` for
 * a `bot_token`, `--<name>-<path in kebab case>` for any other (`--matrix-access-key`).
 */
export function channelSecretFlag(kind: string, path: string): string {
  return path === 'bot_token' ? `--${kind}-token` : `--${kind}-${path.replaceAll(/[._]/g, '-')}`;
}
