/**
 * Runs the plugins' text hooks, in the order the plugins were given.
 *
 * Contract: a plugin bug never fails a run or loses a message. A hook that throws (or rejects)
 * or returns something other than a string is skipped — the text passes through it unchanged —
 * and a `system.notice` event (`where: 'plugin'`) names the plugin, the hook and the error.
 * Later plugins still run. Each hook gets its own copy of the context. A hook that has not
 * settled after `ctx.pluginTimeoutMs` (default `PLUGIN_HOOK_TIMEOUT_MS`) is given up on the same way (its late result is
 * ignored), so a stuck plugin cannot hold a run forever.
 */
import { errorMessage } from '@tinyagi/core';
import type { Ctx, OrchestratorPlugin, PluginContext } from './context.ts';

export type PluginHook = 'transformIncoming' | 'transformOutgoing';

export const PLUGIN_HOOK_TIMEOUT_MS = 10_000;
const TIMED_OUT = Symbol('timed out');

export type PluginCtx = Pick<Ctx, 'plugins' | 'pluginTimeoutMs' | 'stores'>;

export async function applyPluginHooks(ctx: PluginCtx, hook: PluginHook, text: string, pluginCtx: PluginContext): Promise<string> {
  const timeoutMs = ctx.pluginTimeoutMs;
  let current = text;
  for (const plugin of ctx.plugins) {
    const fn = plugin[hook];
    if (!fn) continue;
    let out: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      out = await Promise.race([Promise.resolve(fn.call(plugin, current, { ...pluginCtx })), new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs)))]);
    } catch (err) {
      recordFailure(ctx, plugin, hook, pluginCtx, `threw: ${describeThrown(err)}`);
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (out === TIMED_OUT) {
      recordFailure(ctx, plugin, hook, pluginCtx, `did not finish within ${timeoutMs} ms`);
      continue;
    }
    if (typeof out !== 'string') {
      recordFailure(ctx, plugin, hook, pluginCtx, `returned ${out === null ? 'null' : typeof out} instead of a string`);
      continue;
    }
    current = out;
  }
  return current;
}

function describeThrown(err: unknown): string {
  try {
    return errorMessage(err);
  } catch {
    // e.g. a thrown Object.create(null), which String() cannot convert.
    return 'a value that cannot be printed';
  }
}

function recordFailure(ctx: PluginCtx, plugin: OrchestratorPlugin, hook: PluginHook, pluginCtx: PluginContext, error: string): void {
  // Buffered, outside any transaction: the hooks run before the run's effects are applied.
  ctx.stores.events.emit({
    type: 'system.notice',
    conversationId: pluginCtx.conversationId,
    runId: pluginCtx.runId,
    agentId: pluginCtx.agentId,
    data: { level: 'warn', where: 'plugin', plugin: plugin.name, hook, error, message: `plugin ${plugin.name} ${hook} ${error}; the text passed through unchanged` },
  });
}
