/**
 * `tinyagi channel list|setup|start|stop|restart|reset|login <name>`. The channel names, the
 * setup flags (each kind's secrets and described settings) and the QR-login channels come from
 * the registered channel kinds (docs/kinds.md).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type ApiClient, channelStateText, channelStateTone } from '@tinyagi/client';
import type { ChannelKind } from '@tinyagi/client/contract';
import { channelKinds } from '@tinyagi/core';
import { channelKindInfo, channelsPatch, type ChannelsChange } from '../core-internal.ts';
import { connect, findDaemon } from '../daemon/connection.ts';
import { channelSecretFlag } from '../kinds.ts';
import { settingsEditor } from '../settings-editor.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { printJson, printTable, println } from '../output/print.ts';
import { askMultiSelect, askSecret, confirmOrRefuse } from '../output/prompts.ts';
import { isInteractive, style } from '../output/style.ts';
import { choice, contextOf, parseSeconds, withJson } from './options.ts';

/** The registered channel kinds' names (the CLI registers the built-in ones before it builds its commands). */
export function channelNames(): string[] {
  return channelKinds.names();
}

function parseChannelList(value: string): string[] {
  const parse = choice(channelNames());
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parse(s));
}

/** A `channel setup` flag that sets one key of a kind's block: its secrets, and its described string or number settings. */
interface BlockFlag {
  kind: ChannelKind;
  /** Dotted path inside the block. */
  path: string;
  flag: string;
  /** commander's camelCase name of the option. */
  attribute: string;
  secret: boolean;
  type: 'string' | 'number';
  description: string;
}

interface SetupOptions {
  enable?: string[];
  disable?: string[];
  /** The kinds' block flags, by commander's attribute name. */
  [attribute: string]: unknown;
}

function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The flags of every registered kind: `--telegram-token` (a secret), `--telegram-api-root` (a described setting). */
function blockFlags(): BlockFlag[] {
  return channelKinds.list().flatMap((kind) => {
    const secrets = kind.secrets.map((path): BlockFlag => {
      const flag = channelSecretFlag(kind.name, path);
      return { kind, path, flag, attribute: attributeOf(flag), secret: true, type: 'string', description: `${kind.title} ${path.replaceAll('_', ' ')} (${kind.description.replace(/\.$/, '')})` };
    });
    const schema = channelKindInfo(kind).settings as { properties?: Record<string, { type?: unknown; description?: unknown }> };
    const settings = Object.entries(schema.properties ?? {}).flatMap(([key, property]): BlockFlag[] => {
      if (kind.secrets.includes(key) || typeof property.description !== 'string') return [];
      if (property.type !== 'string' && property.type !== 'number' && property.type !== 'integer') return [];
      const flag = `--${kind.name}-${key.replaceAll('_', '-')}`;
      return [{ kind, path: key, flag, attribute: attributeOf(flag), secret: false, type: property.type === 'string' ? 'string' : 'number', description: `${property.description}; '' removes it` }];
    });
    return [...secrets, ...settings];
  });
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = (node[key] ?? {}) as Record<string, unknown>;
    node[key] = next;
    node = next;
  }
  node[keys.at(-1) as string] = value;
}

/**
 * A flag's value as the block stores it, checked against the kind's schema: '' stays '' for a
 * setting (the action removes the key: commander turns a parser's null into ''), an http(s) URL
 * loses its trailing slash, a number setting is a number.
 */
function parseBlockValue(spec: BlockFlag, raw: string): string | number {
  if (!spec.secret && raw.trim() === '') return '';
  let value: string | number = spec.secret ? raw : raw.trim();
  if (spec.type === 'number') {
    value = Number(value);
    if (!Number.isFinite(value)) throw usageError(`${spec.flag}: "${raw}" is not a number.`);
  } else if (!spec.secret && /^https?:\/\//i.test(value) && URL.canParse(value)) {
    value = value.replace(/\/+$/, '');
  }
  const block: Record<string, unknown> = {};
  setPath(block, spec.path, value);
  const checked = spec.kind.settings.safeParse(block);
  if (!checked.success) throw usageError(`${spec.flag}: ${checked.error.issues[0]?.message ?? 'not a valid value'}.`);
  return value;
}

/** How long `channel start|restart` waits for the platform's answer, by default, before saying the state it is in. */
const SETTLE_TIMEOUT_S = 30;

/** The state a channel (re)started reaches: read again while `connecting` (its platform has not answered yet), up to `timeoutMs`. */
async function settledStatus(client: ApiClient, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await client.listChannels()).find((c) => c.name === name);
    if (status?.state !== 'connecting' || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `channel start|stop|restart <name>`: prints the state the channel reached (`restart → rejected (…)`); exit code 1 when a start ends rejected, stopped or not installed. */
function registerChannelAction(channel: Command, action: 'start' | 'stop' | 'restart', names: string[], parseChannel: (value: string) => string): void {
  channel
    .command(action)
    .description(`${action} a channel client process${action === 'stop' ? '' : ', then say the state it reaches (connected, or why not)'}`)
    .argument('<name>', names.join(' | '), parseChannel)
    .option('--timeout <seconds>', `how long to wait for the platform's answer (default ${SETTLE_TIMEOUT_S})`, parseSeconds)
    .action(async (name: string, options: { timeout?: number }, cmd: Command) => {
      const { client } = connect(contextOf(cmd));
      const result = await client.channelAction({ params: { name, action } });
      const status = action === 'stop' ? result.status : await settledStatus(client, name, (options.timeout ?? SETTLE_TIMEOUT_S) * 1000);
      if (status === undefined) return println(`${name}: ${action} → done`);
      println(`${name}: ${action} → ${channelStateText(status)}`);
      if (action !== 'stop' && channelStateTone(status.state) === 'bad') process.exitCode = 1;
    });
}

export function registerChannelCommands(program: Command): void {
  const names = channelNames();
  const parseChannel = choice(names);
  const channel = program
    .command('channel')
    .alias('channels')
    .description(`chat channels (${names.join(', ') || 'none registered'}): list, setup, start, stop, restart, reset, login`);

  withJson(channel.command('list').alias('status').description('enabled channels and their client processes')).action(async (options: { json?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const daemon = findDaemon(ctx);
    const enabled = (await settingsEditor(ctx).read()).channels?.enabled ?? [];
    const live = daemon ? await daemon.client.listChannels() : [];
    // Every registered kind, then any enabled name no kind of this CLI knows (a plugin's, or a typo: doctor says which).
    const rows = [...new Set([...names, ...enabled])].map((name) => {
      const s = live.find((c) => c.name === name);
      let state: string;
      if (s) state = channelStateText({ ...s, lastError: null });
      else if (!channelKinds.has(name)) state = 'unknown kind';
      else if (enabled.includes(name)) state = daemon ? 'stopped' : 'daemon not running';
      else state = 'disabled';
      return { name, enabled: enabled.includes(name), state, pid: s?.pid ?? null, restarts: s?.restarts ?? 0, lastError: s?.lastError ?? null };
    });
    if (options.json) return printJson(rows);
    printTable(
      ['CHANNEL', 'ENABLED', 'STATE', 'PID', 'RESTARTS', 'LAST ERROR'],
      rows.map((r) => [r.name, r.enabled ? 'yes' : 'no', r.state, r.pid === null ? '-' : String(r.pid), String(r.restarts), r.lastError ?? '']),
    );
  });

  const flags = blockFlags();
  const setup = channel
    .command('setup')
    .description('enable channels and set their secrets and settings (asks on a terminal)')
    .option('--enable <names>', `channels to enable: ${names.join(',')}`, parseChannelList)
    .option('--disable <names>', 'channels to disable', parseChannelList);
  for (const spec of flags) setup.option(`${spec.flag} <${spec.secret ? 'secret' : 'value'}>`, spec.description, (raw: string) => parseBlockValue(spec, raw));
  setup.action(async (options: SetupOptions, cmd: Command) => {
    const editor = settingsEditor(contextOf(cmd));
    const settings = await editor.read();
    const given = flags.filter((spec) => options[spec.attribute] !== undefined);
    const nothingGiven = options.enable === undefined && options.disable === undefined && given.length === 0;
    if (nothingGiven && !isInteractive()) throw usageError('Nothing to set up.', `Pass --enable, --disable${flags.map((f) => `, ${f.flag}`).join('')}.`);
    const change: ChannelsChange = { enable: options.enable, disable: options.disable };
    // A setting given as '' is removed (null in the merge patch).
    const values = new Map<BlockFlag, unknown>(given.map((spec) => [spec, !spec.secret && options[spec.attribute] === '' ? null : options[spec.attribute]]));
    if (nothingGiven) {
      const enabled = await askMultiSelect(undefined, { flag: '--enable', message: 'Channels to enable', choices: names });
      for (const spec of flags.filter((f) => f.secret && enabled.includes(f.kind.name))) {
        const value = await askSecret(undefined, { flag: spec.flag, message: `${spec.kind.title} ${spec.path.replaceAll('_', ' ')} (empty keeps the stored one)` });
        if (value) values.set(spec, value);
      }
      change.enabled = enabled;
    }
    const patch = channelsPatch(settings, change);
    for (const [spec, value] of values) {
      // A merge patch: null removes the key.
      const block = (patch.channels[spec.kind.name] ?? {}) as Record<string, unknown>;
      setPath(block, spec.path, value);
      patch.channels[spec.kind.name] = block;
    }
    await editor.patchSettings(patch);
    const enabled = patch.channels.enabled;
    println(`Enabled channels: ${enabled.length > 0 ? enabled.join(', ') : 'none'}.`);
    if (editor.online) println(style.dim('The daemon picks the change up; see `tinyagi channel list`.'));
    else println(style.dim('They start with the daemon: `tinyagi start`.'));
  });

  for (const action of ['start', 'stop', 'restart'] as const) registerChannelAction(channel, action, names, parseChannel);

  const qrNames = channelKinds
    .list()
    .filter((k) => k.login === 'qr')
    .map((k) => k.name);
  channel
    .command('login')
    .description(`link a QR-login channel (${qrNames.join(', ') || 'none registered'}): shows the QR code to scan and waits until it is linked`)
    .argument('<name>', qrNames.join(' | '), choice(qrNames))
    .option('--timeout <seconds>', 'give up after this long', (v) => Number(v), 180)
    .action(async (name: string, options: { timeout: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const title = channelKinds.get(name)?.title ?? name;
      const { client } = connect(ctx);
      const enabled = (await settingsEditor(ctx).read()).channels?.enabled ?? [];
      if (!enabled.includes(name)) throw usageError(`${name} is not enabled.`, `Enable it first: tinyagi channel setup --enable ${name}`);
      const running = (await client.listChannels()).find((c) => c.name === name);
      if (!running?.running) await client.channelAction({ params: { name, action: 'start' } });
      const { renderQr } = await import('@tinyagi/channels');
      const deadline = Date.now() + options.timeout * 1000;
      let shown: string | null = null;
      println(style.dim(`Waiting for ${title}… (open ${title} on your phone → Linked devices → Link a device)`));
      for (;;) {
        const login = await client.channelLogin({ params: { name } });
        if (login.state === 'open') {
          println(style.green(`${title} is linked.`));
          return;
        }
        if (login.state === 'logged_out') {
          throw new CliError('FAILED', `${title} logged this device out.`, { hint: `Run \`tinyagi channel reset ${name}\`, then \`tinyagi channel login ${name}\` again.` });
        }
        if (login.state === 'qr' && login.qr !== null && login.qr !== shown) {
          shown = login.qr;
          println(await renderQr(login.qr));
          println(style.dim('Scan this code (it is replaced every ~20 s; this command shows each new one).'));
        }
        if (Date.now() > deadline)
          throw new CliError('TIMEOUT', `${title} was not linked within ${options.timeout} s.`, { hint: `Run the command again; \`tinyagi logs ${name}\` shows what the channel did.` });
        await new Promise((r) => setTimeout(r, 500));
      }
    });

  channel
    .command('reset')
    .description('forget a channel session (a QR-login channel: log out and pair again with a new QR code)')
    .argument('<name>', names.join(' | '), parseChannel)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: string, options: { yes?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const kind = channelKinds.get(name);
      if (kind === undefined) throw usageError(`Unknown channel "${name}".`);
      if (kind.login !== 'qr') {
        const secret = kind.secrets[0];
        println(`${name} has no local session.${secret ? ` To change its ${secret.replaceAll('_', ' ')}: tinyagi channel setup ${channelSecretFlag(name, secret)} <value>` : ''}`);
        return;
      }
      await confirmOrRefuse(`Delete the ${kind.title} session (you will scan a new QR code)?`, options.yes);
      const daemon = findDaemon(ctx);
      if (daemon) await daemon.client.channelAction({ params: { name, action: 'stop' } }).catch(() => undefined);
      rmSync(join(ctx.paths.channels, name), { recursive: true, force: true });
      println(`${kind.title} session deleted.`);
      if (daemon) {
        await daemon.client.channelAction({ params: { name, action: 'start' } }).catch(() => undefined);
        println(style.dim(`Restarted the ${kind.title} client: scan the QR code shown by \`tinyagi logs ${name} -f\`.`));
      }
    });
}
