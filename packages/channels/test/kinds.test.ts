/**
 * The built-in channel kinds (src/kinds.ts): one descriptor per folder, loadable without any
 * platform SDK, each agreeing with its adapter, and the channel process's factories found by name.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ChannelKind } from '@tinyagi/client/contract';
import { DISCORD_MAX_MESSAGE, TELEGRAM_MAX_MESSAGE, WHATSAPP_MAX_MESSAGE } from '../src/index.ts';
import { SLACK_MAX_MESSAGE } from '../src/slack/adapter.ts';
import { BUILTIN_CHANNEL_KINDS, discordKind, registerBuiltinChannelKinds, slackKind, telegramKind, whatsappKind } from '../src/kinds.ts';

describe('built-in channel kinds', () => {
  it('lists one descriptor per channel folder, each with its adapter factory', async () => {
    expect(BUILTIN_CHANNEL_KINDS.map((k) => k.name).sort()).toEqual([discordKind.name, slackKind.name, telegramKind.name, whatsappKind.name].sort());
    for (const kind of BUILTIN_CHANNEL_KINDS) {
      expect(kind.family).toBe('channel');
      const factory = (await import(`../src/${kind.name}/factory.ts`)) as { createAdapter: unknown };
      expect(typeof factory.createAdapter).toBe('function');
    }
  });

  it("says the same message limit as the adapter's", () => {
    expect(telegramKind.maxMessageChars).toBe(TELEGRAM_MAX_MESSAGE);
    expect(discordKind.maxMessageChars).toBe(DISCORD_MAX_MESSAGE);
    expect(whatsappKind.maxMessageChars).toBe(WHATSAPP_MAX_MESSAGE);
    expect(slackKind.maxMessageChars).toBe(SLACK_MAX_MESSAGE);
  });

  it('validates its settings block: the documented keys pass, a wrong type is refused with its path', () => {
    expect(telegramKind.settings.safeParse({ bot_token: '123:abc', api_root: 'https://bot-api.example', max_file_bytes: 20971520, extra: 1 }).success).toBe(true);
    expect(discordKind.settings.safeParse({ bot_token: 'MTIz', rest_api: 'https://proxy.example/api', allowed_channels: ['810000000000000001'] }).success).toBe(true);
    expect(whatsappKind.settings.safeParse({ socket_module: '/tmp/x.mjs', fake_url: 'ws://x' }).success).toBe(true);
    expect(slackKind.settings.safeParse({ bot_token: 'xoxb-1', app_token: 'xapp-1', api_url: 'https://slack-proxy.example/api/', allowed_channels: ['C0123'] }).success).toBe(true);
    expect(slackKind.settings.safeParse({ app_token: 7 }).error?.issues[0]?.path).toEqual(['app_token']);
    const bad = telegramKind.settings.safeParse({ bot_token: 42 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['bot_token']);
    expect(discordKind.settings.safeParse({ rest_api: 'ftp://x' }).success).toBe(false);
  });

  it('registers each built-in kind with the given registry, and takes them back', () => {
    const registered = new Map<string, ChannelKind>();
    const undo = registerBuiltinChannelKinds((kind) => {
      registered.set(kind.name, kind);
      return () => registered.delete(kind.name);
    });
    expect([...registered.keys()].sort()).toEqual(BUILTIN_CHANNEL_KINDS.map((k) => k.name).sort());
    undo();
    expect(registered.size).toBe(0);
  });

  it('loads no platform SDK with the descriptors (@tinyagi/channels/kinds)', () => {
    const kinds = fileURLToPath(new URL('../src/kinds.ts', import.meta.url));
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const m = await import(${JSON.stringify(kinds)});
      console.log(JSON.stringify({ names: m.BUILTIN_CHANNEL_KINDS.map((k) => k.name), seen }));
    `;
    const child = spawnSync(process.execPath, ['--conditions=tinyagi-source', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { names: string[]; seen: string[] };
    expect(out.names).toHaveLength(BUILTIN_CHANNEL_KINDS.length);
    expect(out.seen.some((s) => s.includes('kind.ts'))).toBe(true);
    expect(out.seen.filter((s) => /grammy|discord\.js|baileys|@slack|adapter\.ts|factory\.ts/.test(s))).toEqual([]);
  });

  it("keeps the Slack SDK out of the package's main entry: its undici 8 replaces the global dispatcher discord.js's undici 6 sends files with", () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      await import(${JSON.stringify(index)});
      console.log(JSON.stringify(seen));
    `;
    const child = spawnSync(process.execPath, ['--conditions=tinyagi-source', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const seen = JSON.parse(child.stdout) as string[];
    expect(seen.some((s) => s.includes('discord.js'))).toBe(true);
    expect(seen.filter((s) => /@slack|slack\/adapter/.test(s))).toEqual([]);
  });
});
