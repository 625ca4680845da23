/**
 * `tinyagi channel list|setup|start|stop|restart|reset|login <name>`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { channelsPatch, type ChannelsChange } from '@tinyagi/core/internal';
import { connect, findDaemon } from '../daemon/connection.ts';
import { settingsEditor } from '../settings-editor.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { printJson, printTable, println } from '../output/print.ts';
import { askMultiSelect, askSecret, confirmOrRefuse } from '../output/prompts.ts';
import { isInteractive, style } from '../output/style.ts';
import { choice, contextOf, withJson } from './options.ts';

export const CHANNELS = ['discord', 'telegram', 'whatsapp'] as const;
type ChannelName = (typeof CHANNELS)[number];
const parseChannel = choice(CHANNELS);

function parseChannelList(value: string): ChannelName[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseChannel(s));
}

interface SetupOptions {
  enable?: ChannelName[];
  disable?: ChannelName[];
  discordToken?: string;
  telegramToken?: string;
  telegramApiRoot?: string;
}

/** `--telegram-api-root`: an http(s) URL without the trailing slash, or '' to go back to api.telegram.org. */
function parseApiRoot(value: string): string {
  if (value.trim() === '') return '';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw usageError(`--telegram-api-root: "${value}" is not a URL.`, "Give the Bot API server's base URL, e.g. http://127.0.0.1:8081.");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--telegram-api-root: ${value} is not an http(s) URL.`);
  return url.href.replace(/\/+$/, '');
}

export function registerChannelCommands(program: Command): void {
  const channel = program.command('channel').alias('channels').description('chat channels (discord, telegram, whatsapp): list, setup, start, stop, restart, reset, login');

  withJson(channel.command('list').alias('status').description('enabled channels and their client processes')).action(async (options: { json?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const daemon = findDaemon(ctx);
    const enabled = (await settingsEditor(ctx).read()).channels?.enabled ?? [];
    const live = daemon ? await daemon.client.listChannels() : [];
    const rows = CHANNELS.map((name) => {
      const s = live.find((c) => c.name === name);
      const state = s ? (s.running ? 'running' : String((s as { state?: unknown }).state ?? 'stopped')) : enabled.includes(name) ? (daemon ? 'stopped' : 'daemon not running') : 'disabled';
      return { name, enabled: enabled.includes(name), state, pid: s?.pid ?? null, restarts: s?.restarts ?? 0, lastError: s?.lastError ?? null };
    });
    if (options.json) return printJson(rows);
    printTable(
      ['CHANNEL', 'ENABLED', 'STATE', 'PID', 'RESTARTS', 'LAST ERROR'],
      rows.map((r) => [r.name, r.enabled ? 'yes' : 'no', r.state, r.pid === null ? '-' : String(r.pid), String(r.restarts), r.lastError ?? '']),
    );
  });

  channel
    .command('setup')
    .description('enable channels and set their bot tokens (asks on a terminal)')
    .option('--enable <names>', `channels to enable: ${CHANNELS.join(',')}`, parseChannelList)
    .option('--disable <names>', 'channels to disable', parseChannelList)
    .option('--discord-token <token>', 'Discord bot token (needs the Message Content intent)')
    .option('--telegram-token <token>', 'Telegram bot token from @BotFather')
    .option('--telegram-api-root <url>', "a self-hosted Telegram Bot API server (e.g. http://127.0.0.1:8081); '' for api.telegram.org", parseApiRoot)
    .action(async (options: SetupOptions, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      const settings = await editor.read();
      const nothingGiven =
        options.enable === undefined && options.disable === undefined && options.discordToken === undefined && options.telegramToken === undefined && options.telegramApiRoot === undefined;
      if (nothingGiven && !isInteractive()) throw usageError('Nothing to set up.', 'Pass --enable, --disable, --discord-token, --telegram-token or --telegram-api-root.');
      const change: ChannelsChange = { enable: options.enable, disable: options.disable, tokens: { discord: options.discordToken, telegram: options.telegramToken } };
      if (nothingGiven) {
        const enabled = await askMultiSelect(undefined, { flag: '--enable', message: 'Channels to enable', choices: [...CHANNELS] });
        const discord = enabled.includes('discord') ? (await askSecret(undefined, { flag: '--discord-token', message: 'Discord bot token (empty keeps the stored one)' })) || undefined : undefined;
        const telegram = enabled.includes('telegram') ? (await askSecret(undefined, { flag: '--telegram-token', message: 'Telegram bot token (empty keeps the stored one)' })) || undefined : undefined;
        Object.assign(change, { enabled, tokens: { discord, telegram } });
      }
      const patch = channelsPatch(settings, change);
      if (options.telegramApiRoot !== undefined) {
        // A merge patch: null removes the key (back to api.telegram.org).
        const telegram = (patch.channels['telegram'] ?? {}) as Record<string, unknown>;
        patch.channels['telegram'] = { ...telegram, api_root: options.telegramApiRoot === '' ? null : options.telegramApiRoot };
      }
      await editor.patchSettings(patch);
      const enabled = patch.channels.enabled;
      println(`Enabled channels: ${enabled.length > 0 ? enabled.join(', ') : 'none'}.`);
      if (editor.online) println(style.dim('The daemon picks the change up; see `tinyagi channel list`.'));
      else println(style.dim('They start with the daemon: `tinyagi start`.'));
    });

  for (const action of ['start', 'stop', 'restart'] as const) {
    channel
      .command(action)
      .description(`${action} a channel client process`)
      .argument('<name>', CHANNELS.join(' | '), parseChannel)
      .action(async (name: ChannelName, _options: unknown, cmd: Command) => {
        const result = await connect(contextOf(cmd)).client.channelAction({ params: { name, action } });
        const state = result.status ? (result.status.running ? 'running' : String((result.status as { state?: unknown }).state ?? 'stopped')) : 'done';
        println(`${name}: ${action} → ${state}`);
      });
  }

  channel
    .command('login')
    .description('link a QR-login channel (WhatsApp): shows the QR code to scan and waits until it is linked')
    .argument('<name>', 'whatsapp', choice(['whatsapp'] as const))
    .option('--timeout <seconds>', 'give up after this long', (v) => Number(v), 180)
    .action(async (name: 'whatsapp', options: { timeout: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { client } = connect(ctx);
      const enabled = (await settingsEditor(ctx).read()).channels?.enabled ?? [];
      if (!enabled.includes(name)) throw usageError(`${name} is not enabled.`, `Enable it first: tinyagi channel setup --enable ${name}`);
      const running = (await client.listChannels()).find((c) => c.name === name);
      if (!running?.running) await client.channelAction({ params: { name, action: 'start' } });
      const { renderQr } = await import('@tinyagi/channels');
      const deadline = Date.now() + options.timeout * 1000;
      let shown: string | null = null;
      println(style.dim('Waiting for WhatsApp… (open WhatsApp on your phone → Linked devices → Link a device)'));
      for (;;) {
        const login = await client.channelLogin({ params: { name } });
        if (login.state === 'open') {
          println(style.green('WhatsApp is linked.'));
          return;
        }
        if (login.state === 'logged_out') {
          throw new CliError('FAILED', 'WhatsApp logged this device out.', { hint: 'Run `tinyagi channel reset whatsapp`, then `tinyagi channel login whatsapp` again.' });
        }
        if (login.state === 'qr' && login.qr !== null && login.qr !== shown) {
          shown = login.qr;
          println(await renderQr(login.qr));
          println(style.dim('Scan this code (it is replaced every ~20 s; this command shows each new one).'));
        }
        if (Date.now() > deadline)
          throw new CliError('TIMEOUT', `WhatsApp was not linked within ${options.timeout} s.`, { hint: 'Run the command again; `tinyagi logs whatsapp` shows what the channel did.' });
        await new Promise((r) => setTimeout(r, 500));
      }
    });

  channel
    .command('reset')
    .description('forget a channel session (WhatsApp: log out and pair again with a new QR code)')
    .argument('<name>', CHANNELS.join(' | '), parseChannel)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: ChannelName, options: { yes?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (name !== 'whatsapp') {
        println(`${name} has no local session. To change its bot token: tinyagi channel setup --${name}-token <token>`);
        return;
      }
      await confirmOrRefuse('Delete the WhatsApp session (you will scan a new QR code)?', options.yes);
      const daemon = findDaemon(ctx);
      if (daemon) await daemon.client.channelAction({ params: { name, action: 'stop' } }).catch(() => undefined);
      rmSync(join(ctx.paths.channels, 'whatsapp'), { recursive: true, force: true });
      println('WhatsApp session deleted.');
      if (daemon) {
        await daemon.client.channelAction({ params: { name, action: 'start' } }).catch(() => undefined);
        println(style.dim('Restarted the WhatsApp client: scan the QR code shown by `tinyagi logs whatsapp -f`.'));
      }
    });
}
