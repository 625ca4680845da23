/**
 * `tinyagi schedule list|add|remove|enable|disable`: recurring (cron with a time zone) or
 * one-shot (--at) messages to an agent or team, run by the daemon. Without a daemon the change
 * is made offline, through the same core schedule edits as the API.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isTimeZone, parseRunAt } from '../core-internal.ts';
import { settingsEditor } from '../settings-editor.ts';
import { usageError } from '../output/cli-error.ts';
import { formatTime, printJson, printTable, println } from '../output/print.ts';
import { choice, contextOf, parseId, withJson } from './options.ts';

const MISSED = ['run-once', 'skip'] as const;

export function parseTimeZone(value: string): string {
  if (isTimeZone(value)) return value;
  throw new InvalidArgumentError('unknown time zone; use an IANA name such as Europe/Paris or UTC.');
}

/** An ISO date-time (with or without offset; without one it is local time) or `+30m`, `+2h`, `+1d`. */
export function parseAt(value: string, now = Date.now()): number {
  const ms = parseRunAt(value, now);
  if (ms === undefined) throw new InvalidArgumentError('expected an ISO date-time (2030-01-31T09:00, 2030-01-31T09:00:00Z) or +30m / +2h / +1d.');
  return ms;
}

interface AddOptions {
  message?: string;
  agent?: string;
  team?: string;
  cron?: string;
  tz?: string;
  at?: number;
  label?: string;
  missed?: (typeof MISSED)[number];
  json?: boolean;
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('scheduled messages: cron (with time zone) or one-shot');

  withJson(schedule.command('list').alias('ls').description('list schedules').option('--agent <id>', 'only this agent', parseId)).action(
    async (options: { agent?: string; json?: boolean }, cmd: Command) => {
      const rows = await settingsEditor(contextOf(cmd)).listSchedules(options.agent ? { agent: options.agent } : {});
      if (options.json) return printJson(rows);
      printTable(
        ['ID', 'LABEL', 'TARGET', 'WHEN', 'NEXT', 'ON', 'MESSAGE'],
        rows.map((s) => [
          s.id,
          s.label,
          s.teamId ? `#${s.teamId}` : `@${s.agentId ?? '?'}`,
          s.cron ? `${s.cron} (${s.timezone})` : `at ${formatTime(s.runAt)}`,
          formatTime(s.nextRunAt),
          s.enabled ? 'yes' : 'no',
          s.message.slice(0, 40).replace(/\s+/g, ' '),
        ]),
        'No schedules. Add one with `tinyagi schedule add --agent <id> --cron "0 9 * * *" --message "…"`.',
      );
    },
  );

  withJson(
    schedule
      .command('add')
      .description('add a schedule: --cron (with --tz) or --at, and --agent or --team')
      .requiredOption('-m, --message <text>', 'the message to send')
      .option('-a, --agent <id>', 'send to this agent', parseId)
      .option('-t, --team <id>', 'send to this team', parseId)
      .option('--cron <expr>', 'recurring: 5-field cron, e.g. "0 9 * * 1-5"')
      .option('--tz <zone>', 'time zone of the cron expression (IANA name, default UTC)', parseTimeZone)
      .option('--at <when>', 'one-shot: ISO date-time or +30m / +2h / +1d', (v) => parseAt(v))
      .option('--label <label>', 'a name to refer to it by')
      .option('--missed <policy>', 'after downtime: run-once (fire once, default) or skip', choice(MISSED)),
  ).action(async (options: AddOptions, cmd: Command) => {
    if ((options.agent === undefined) === (options.team === undefined)) throw usageError('Give exactly one of --agent or --team.');
    if ((options.cron === undefined) === (options.at === undefined)) throw usageError('Give exactly one of --cron or --at.');
    if (options.tz !== undefined && options.cron === undefined) throw usageError('--tz applies to --cron schedules.');
    // Cron syntax, time zone, a past --at and the target are checked by core's schedule edits (the same with or without a daemon).
    const created = await settingsEditor(contextOf(cmd)).createSchedule({
      message: options.message ?? '',
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.team ? { team: options.team } : {}),
      ...(options.cron ? { cron: options.cron, timezone: options.tz ?? 'UTC' } : {}),
      ...(options.at !== undefined ? { runAt: options.at } : {}),
      ...(options.label ? { label: options.label } : {}),
      ...(options.missed ? { missedPolicy: options.missed } : {}),
    });
    if (options.json) return printJson(created);
    println(`Added schedule ${created.id}${created.label ? ` (${created.label})` : ''}; next run ${formatTime(created.nextRunAt)}.`);
  });

  schedule
    .command('remove')
    .alias('rm')
    .description('delete a schedule')
    .argument('<id>', 'schedule id or label')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      await settingsEditor(contextOf(cmd)).deleteSchedule(id);
      println(`Removed schedule ${id}.`);
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    schedule
      .command(name)
      .description(`${name} a schedule`)
      .argument('<id>', 'schedule id or label')
      .action(async (id: string, _options: unknown, cmd: Command) => {
        const updated = await settingsEditor(contextOf(cmd)).patchSchedule(id, { enabled });
        println(`${updated.label || updated.id}: ${enabled ? `enabled, next run ${formatTime(updated.nextRunAt)}` : 'disabled'}.`);
      });
  }
}
