/**
 * `tinyagi heartbeat [agent] [--interval s] [--enable|--disable] [--quiet-hours HH:MM-HH:MM|off]`:
 * shows or changes heartbeat settings. The daemon reads them live (no restart needed).
 */
import type { Command } from 'commander';
import { agentDefaults, heartbeatIntervalSeconds, requireAgent } from '../core-internal.ts';
import { parseQuietHours } from '../daemon/quiet-hours.ts';
import { settingsEditor } from '../settings-editor.ts';
import { usageError } from '../output/cli-error.ts';
import { printFields, printJson, printTable, println } from '../output/print.ts';
import { contextOf, parseId, parseSeconds, withJson } from './options.ts';

interface HeartbeatOptions {
  interval?: number;
  enable?: boolean;
  disable?: boolean;
  quietHours?: string;
  json?: boolean;
}

const MIN_INTERVAL_S = 10;

export function registerHeartbeatCommand(program: Command): void {
  withJson(
    program
      .command('heartbeat')
      .description('show or change heartbeats (periodic check-ins that wake idle agents)')
      .argument('[agent]', 'one agent (default: the global settings / every agent)', parseId)
      .option('--interval <seconds>', `seconds between heartbeats (min ${MIN_INTERVAL_S})`, parseSeconds)
      .option('--enable', 'turn heartbeats on')
      .option('--disable', 'turn heartbeats off')
      .option('--quiet-hours <range>', 'no heartbeats in this local-time range, e.g. 22:00-07:00 ("off" clears it)'),
  ).action(async (agentId: string | undefined, options: HeartbeatOptions, cmd: Command) => {
    if (options.enable && options.disable) throw usageError('Use either --enable or --disable.');
    if (options.interval !== undefined && options.interval < MIN_INTERVAL_S) throw usageError(`--interval must be at least ${MIN_INTERVAL_S} seconds.`);
    if (options.quietHours !== undefined && agentId !== undefined) throw usageError('--quiet-hours is global; drop the agent argument.');
    let quiet: string | null | undefined;
    if (options.quietHours !== undefined) {
      if (options.quietHours === 'off') quiet = null;
      else {
        const parsed = parseQuietHours(options.quietHours);
        if (typeof parsed === 'string' || parsed === undefined) throw usageError(`--quiet-hours must look like 22:00-07:00 (got "${options.quietHours}").`);
        quiet = parsed.text;
      }
    }
    const editor = settingsEditor(contextOf(cmd));
    const settings = await editor.read();
    const enabled = options.enable ? true : options.disable ? false : undefined;
    const changing = options.interval !== undefined || enabled !== undefined || quiet !== undefined;

    if (agentId !== undefined) requireAgent(settings, agentId);
    if (!changing) {
      const agents = Object.entries(settings.agents ?? {})
        .filter(([id]) => agentId === undefined || id === agentId)
        .map(([id, a]) => ({ id, ...agentDefaults(a, settings).heartbeat }));
      const global = { interval: heartbeatIntervalSeconds(settings), quietHours: ((settings.monitoring as Record<string, unknown> | undefined)?.['quiet_hours'] as string | undefined) ?? null };
      if (options.json) return printJson({ ...global, agents });
      printFields([
        ['default interval', `${global.interval}s`],
        ['quiet hours', global.quietHours ?? 'none'],
      ]);
      println();
      printTable(
        ['AGENT', 'ENABLED', 'INTERVAL'],
        agents.map((a) => [a.id, a.enabled ? 'yes' : 'no', `${a.interval}s`]),
        'No agents.',
      );
      return;
    }

    const heartbeat = { ...(enabled !== undefined ? { enabled } : {}), ...(options.interval !== undefined ? { interval: options.interval } : {}) };
    if (agentId !== undefined) {
      await editor.patchAgent(agentId, { heartbeat });
      return println(`${agentId}: heartbeat ${JSON.stringify(heartbeat)}.`);
    }
    await editor.patchSettings({
      ...(options.interval !== undefined || quiet !== undefined
        ? { monitoring: { ...(options.interval !== undefined ? { heartbeat_interval: options.interval } : {}), ...(quiet !== undefined ? { quiet_hours: quiet } : {}) } }
        : {}),
      ...(enabled !== undefined ? { agents: Object.fromEntries(Object.keys(settings.agents ?? {}).map((id) => [id, { heartbeat: { enabled } }])) } : {}),
    });
    const parts = [
      options.interval !== undefined ? `default interval ${options.interval}s` : '',
      quiet !== undefined ? `quiet hours ${quiet ?? 'off'}` : '',
      enabled !== undefined ? `${enabled ? 'enabled' : 'disabled'} for every agent` : '',
    ].filter((p) => p !== '');
    println(`Heartbeat: ${parts.join(', ')}.`);
  });
}
