/**
 * settings.json as a SettingsSource (config/settings-source.ts): the one path the daemon, the API
 * and the offline CLI read and edit settings through. Real files in a temp folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSettingsSource, type SettingsChangeSource, type SettingsSource } from '../src/config/index.ts';
import { isTinyError } from '../src/errors.ts';

let dir: string;
let file: string;
const sources: SettingsSource[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-settings-source-'));
  file = join(dir, 'settings.json');
});
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = { workspace: { path: '/tmp/ws' }, agents: { a: { name: 'A', provider: 'mock' } } };
const write = (value: unknown) => writeFileSync(file, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);

function recorder() {
  const events: SettingsChangeSource[] = [];
  const waiters = new Set<() => void>();
  return {
    events,
    sink: {
      append(event: { type: 'settings.changed'; data: { source: SettingsChangeSource } }) {
        expect(event.type).toBe('settings.changed');
        events.push(event.data.source);
        for (const w of waiters) w();
      },
    },
    /** Resolves once `n` events were recorded. */
    until(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (events.length < n) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

function open(options: Partial<Parameters<typeof fileSettingsSource>[0]> = {}): SettingsSource {
  const source = fileSettingsSource({ file, env: {}, log: { info: () => {}, warn: () => {}, error: () => {} }, ...options });
  sources.push(source);
  return source;
}

describe('fileSettingsSource', () => {
  it('writes through the locked, validated path, records settings.changed and tells its listeners', async () => {
    write(base);
    const rec = recorder();
    const source = open({ events: rec.sink });
    const seen: string[] = [];
    source.onChange((next, _previous, by) => seen.push(`${by}:${next.agents?.['a']?.name}`));
    const result = await source.update((s) => ({ ...s, agents: { a: { name: 'B', provider: 'mock' } } }));
    expect(result.agents?.['a']?.name).toBe('B');
    expect(source.get().agents?.['a']?.name).toBe('B');
    expect(JSON.parse(readFileSync(file, 'utf8')).agents.a.name).toBe('B');
    expect(rec.events).toEqual(['api']);
    expect(seen).toEqual(['api:B']);
    // A write that changes nothing is no change.
    await source.update((s) => s);
    expect(rec.events).toEqual(['api']);
  });

  it('refuses an invalid result and never overwrites a broken file, naming the file and the problem', async () => {
    write(base);
    const source = open();
    const invalid = await source.update((s) => ({ ...s, agents: { a: { name: 42, provider: 'mock' } } })).catch((e: unknown) => e);
    expect(isTinyError(invalid, 'CONFIG_INVALID'), String(invalid)).toBe(true);
    const broken = '{ "agents": { "a": ';
    write(broken);
    const refused = await source.update((s) => s).catch((e: unknown) => e);
    expect(isTinyError(refused, 'CONFIG_PARSE_FAILED')).toBe(true);
    expect((refused as Error).message).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe(broken);
    // The last good settings stay in force.
    expect(source.get().agents?.['a']?.name).toBe('A');
    // And a source is not made from a broken file.
    expect(() => fileSettingsSource({ file, env: {} })).toThrow(/Cannot parse/);
  });

  it('without a watcher, reads an edit by hand when the file changed (and records it as "file")', () => {
    write(base);
    const rec = recorder();
    const source = open({ events: rec.sink });
    write({ ...base, agents: { a: { name: 'Hand', provider: 'mock' } } });
    expect(source.get().agents?.['a']?.name).toBe('Hand');
    expect(rec.events).toEqual(['file']);
  });

  it('with a watcher, picks up an edit by hand and ignores a broken one', async () => {
    write(base);
    const rec = recorder();
    const errors: string[] = [];
    const source = open({ events: rec.sink, watch: true, debounceMs: 10, log: { info: () => {}, warn: () => {}, error: (m) => errors.push(m) } });
    write({ ...base, agents: { a: { name: 'Watched', provider: 'mock' } } });
    await rec.until(1);
    expect(source.get().agents?.['a']?.name).toBe('Watched');
    write('{ broken');
    source.reload();
    expect(errors.some((m) => m.includes(file))).toBe(true);
    expect(source.get().agents?.['a']?.name).toBe('Watched');
  });

  it('applies environment overrides to get() and never writes them', async () => {
    write(base);
    const source = open({ env: { TINYAGI_API_PORT: '4555' } });
    expect(source.get().server?.port).toBe(4555);
    expect(source.raw().server?.port).toBeUndefined();
    await source.update((s) => ({ ...s, agents: { a: { name: 'C', provider: 'mock' } } }));
    expect(JSON.parse(readFileSync(file, 'utf8')).server).toBeUndefined();
  });
});
