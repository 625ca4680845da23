/**
 * Runs the plugins' text hooks, in the order the plugins were given.
 *
 * Contract: a plugin bug never fails a run or loses a message. A hook that throws (or rejects)
 * or returns something other than a string is skipped — the text passes through it unchanged —
 * and a `system.notice` event (`where: 'plugin'`) names the plugin, the hook and the error.
 * Later plugins still run. Each hook gets its own copy of the context.
 */
import { errorMessage } from '@tinyagi/core';
import type { Ctx, OrchestratorPlugin, PluginContext } from './context.ts';

export type PluginHook = 'transformIncoming' | 'transformOutgoing';

export async function applyPluginHooks(ctx: Ctx, hook: PluginHook, text: string, pluginCtx: PluginContext): Promise<string> {
  let current = text;
  for (const plugin of ctx.plugins) {
    const fn = plugin[hook];
    if (!fn) continue;
    let out: unknown;
    try {
      out = await fn.call(plugin, current, { ...pluginCtx });
    } catch (err) {
      recordFailure(ctx, plugin, hook, pluginCtx, `threw: ${describeThrown(err)}`);
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

function recordFailure(ctx: Ctx, plugin: OrchestratorPlugin, hook: PluginHook, pluginCtx: PluginContext, error: string): void {
  // Buffered, outside any transaction: the hooks run before the run's effects are applied.
  ctx.stores.events.emit({
    type: 'system.notice',
    conversationId: pluginCtx.conversationId,
    runId: pluginCtx.runId,
    agentId: pluginCtx.agentId,
    data: { level: 'warn', where: 'plugin', plugin: plugin.name, hook, error, message: `plugin ${plugin.name} ${hook} ${error}; the text passed through unchanged` },
  });
}
