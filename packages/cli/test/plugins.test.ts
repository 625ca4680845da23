/**
 * The plugin loader on real plugin directories in a temp TINYAGI_HOME/plugins, logging through
 * the daemon's real logger into a real log file.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings with `${…}` are plugin sources written to disk
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginContext } from '@tinyagi/teams';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activityLine } from '../src/daemon/activity-log.ts';
import { createLogger } from '../src/daemon/logger.ts';
import { loadPlugins } from '../src/daemon/plugins.ts';
import { RotatingLog } from '../src/daemon/rotating-log.ts';

let root: string;
let pluginsDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-plugins-'));
  pluginsDir = join(root, 'home', 'plugins');
  mkdirSync(pluginsDir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writePlugin(name: string, files: Record<string, string>): string {
  const dir = join(pluginsDir, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** Loads with the daemon's logger writing to a real file; returns the plugins and the log lines. */
let loads = 0;
async function load(timeoutMs?: number) {
  const file = join(root, 'logs', `daemon-${++loads}.log`);
  const log = new RotatingLog({ file });
  const plugins = await loadPlugins(pluginsDir, createLogger({ file: log }).child('plugins'), timeoutMs === undefined ? {} : { timeoutMs });
  log.close();
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ /, '')); // drop the timestamp
  return { plugins, lines };
}

const ctx: PluginContext = { agentId: 'bot', conversationId: 'conv_1', runId: 'run_1', channel: 'cli', sender: 'Ann' };

describe('loadPlugins', () => {
  it('loads good plugins in directory order, skips broken ones with a logged reason and ignores disabled ones', async () => {
    const shout = writePlugin('shout', { 'index.mjs': "export default { name: 'Shouter', transformOutgoing(text) { return text.toUpperCase(); } };\n" });
    // Named exports, entry from package.json `exports`, a `.js` file in a "type": "module" package.
    const tagger = writePlugin('a-tagger', {
      'package.json': JSON.stringify({ name: 'a-tagger', type: 'module', exports: { '.': { import: './src/main.js' } } }),
      'src/main.js': 'export async function transformIncoming(text, ctx) { return `${text} [for @${ctx.agentId} on ${ctx.channel}]`; }\n',
    });
    const broken = writePlugin('broken', { 'index.js': "throw new Error('broken at import');\n" });
    const badShape = writePlugin('bad-shape', { 'index.mjs': "export default { transformOutgoing: 'not a function' };\n" });
    const noHooks = writePlugin('no-hooks', { 'index.mjs': "export const name = 'idle';\n" });
    const noEntry = writePlugin('no-entry', { 'README.md': 'nothing to run\n' });
    const escaping = writePlugin('escape', { 'package.json': JSON.stringify({ main: '../shout/index.mjs' }) });
    const badName = writePlugin('Bad.Name', { 'index.mjs': 'export function transformOutgoing(t) { return t; }\n' });
    const disabled = writePlugin('muted.disabled', { 'index.mjs': "export function transformOutgoing() { return 'muted'; }\n" });
    writePlugin('.hidden', { 'index.mjs': "export function transformOutgoing() { return 'hidden'; }\n" });
    writeFileSync(join(pluginsDir, 'notes.txt'), 'not a plugin\n');

    const { plugins, lines } = await load();

    expect(plugins.map((p) => [p.id, p.plugin.name, p.entry])).toEqual([
      ['a-tagger', 'a-tagger', join(tagger, 'src', 'main.js')],
      ['shout', 'Shouter', join(shout, 'index.mjs')],
    ]);
    const [tag, loud] = plugins.map((p) => p.plugin);
    expect(tag!.transformOutgoing).toBeUndefined();
    expect(await tag!.transformIncoming!('hi', ctx)).toBe('hi [for @bot on cli]');
    expect(loud!.transformIncoming).toBeUndefined();
    expect(await loud!.transformOutgoing!('quiet reply', ctx)).toBe('QUIET REPLY');

    expect(lines).toEqual([
      `WARN  [plugins] skipped plugin ${badName}: the directory name must be 1-64 characters a-z, 0-9, "_" or "-", starting with a letter or digit`,
      `WARN  [plugins] skipped plugin ${badShape}: "transformOutgoing" must be a function`,
      `WARN  [plugins] skipped plugin ${broken}: failed to load: broken at import`,
      `WARN  [plugins] skipped plugin ${escaping}: package.json points outside the plugin directory (../shout/index.mjs)`,
      `INFO  [plugins] plugin muted is disabled (${disabled})`,
      `WARN  [plugins] skipped plugin ${noEntry}: no entry file: add index.js or index.mjs, or set "main" in package.json`,
      `WARN  [plugins] skipped plugin ${noHooks}: exports neither transformIncoming nor transformOutgoing (as named exports or on the default export object)`,
      `INFO  [plugins] ignored ${join(pluginsDir, 'notes.txt')}: a plugin is a directory`,
    ]);
  });

  it('a plugin whose import never finishes is skipped after the timeout; a missing plugins directory loads nothing', async () => {
    const slow = writePlugin('slow', { 'index.mjs': 'await new Promise(() => {});\nexport function transformOutgoing(t) { return t; }\n' });
    writePlugin('fine', { 'index.mjs': 'export function transformOutgoing(t) { return `${t}!`; }\n' });
    const { plugins, lines } = await load(300);
    expect(plugins.map((p) => p.id)).toEqual(['fine']);
    expect(lines).toEqual([`WARN  [plugins] skipped plugin ${slow}: importing it took longer than 300 ms`]);

    rmSync(pluginsDir, { recursive: true });
    expect(await load()).toEqual({ plugins: [], lines: [] });
  });

  it('each load re-imports the entry, so a restart picks up an edited plugin', async () => {
    writePlugin('stamp', { 'index.mjs': 'export function transformOutgoing(t) { return `${t} v1`; }\n' });
    const first = await load();
    writePlugin('stamp', { 'index.mjs': 'export function transformOutgoing(t) { return `${t} v2`; }\n' });
    const second = await load();
    expect(await first.plugins[0]!.plugin.transformOutgoing!('x', ctx)).toBe('x v1');
    expect(await second.plugins[0]!.plugin.transformOutgoing!('x', ctx)).toBe('x v2');
  });

  it('plugin failures recorded by the orchestrator are written to the daemon log', () => {
    const line = activityLine({
      id: 1,
      ts: 0,
      type: 'system.notice',
      conversationId: 'conv_1',
      runId: 'run_1',
      parentRunId: null,
      depth: 0,
      agentId: 'bot',
      data: { level: 'warn', where: 'plugin', plugin: 'shout', hook: 'transformOutgoing', error: 'threw: boom' },
    });
    expect(line).toEqual({ level: 'warn', text: 'plugin shout transformOutgoing threw: boom; the text passed through unchanged (conv_1 run_1)' });
  });
});
