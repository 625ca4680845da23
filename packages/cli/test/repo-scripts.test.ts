/**
 * The repository's own scripts, as a new user runs them from a fresh clone: turbo must not greet
 * them with its telemetry notice (`pnpm start` is the first command in the README).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('root package.json scripts', () => {
  it('disable turbo telemetry in every script that runs turbo', () => {
    // `pnpm test` runs turbo through test-kit's suite-run.ts (which prints the timing tables after it).
    const runsTurbo = /\bturbo run\b|suite-run\.ts/;
    const turbo = Object.entries(scripts).filter(([, command]) => runsTurbo.test(command));
    expect(turbo.map(([name]) => name)).toEqual(expect.arrayContaining(['start', 'build', 'test', 'typecheck']));
    for (const [name, command] of turbo) {
      for (const step of command.split(' && ').filter((s) => runsTurbo.test(s))) {
        expect(step, name).toMatch(/^TURBO_TELEMETRY_DISABLED=1 (?:[A-Z_]+=\S+ )*(?:turbo run |node packages\/test-kit\/src\/suite-run\.ts)/);
      }
    }
    // They build TinyOffice (Next.js) too: its telemetry is off as well.
    for (const name of ['start', 'build', 'test']) expect(scripts[name], name).toContain('NEXT_TELEMETRY_DISABLED=1');
  });

  it('`pnpm test` runs the linter before the tests', () => {
    expect(scripts['test']).toMatch(/^pnpm lint && /);
    expect(scripts['lint']).toMatch(/^biome check /);
  });

  it('`pnpm start` builds TinyOffice, so `tinyagi office` works from a fresh clone', () => {
    expect(scripts['start']).toContain('--filter=tinyoffice...');
  });

  it('`pnpm start`’s turbo step prints no telemetry notice for a user who never ran turbo', () => {
    const home = mkdtempSync(join(tmpdir(), 'tinyagi-turbo-home-'));
    try {
      // The start script's first step, as sh runs it, in dry-run mode and with a fresh config home.
      const step = `${(scripts['start'] ?? '').split(' && ')[0]} --dry=json`;
      const env: Record<string, string> = { PATH: `${join(ROOT, 'node_modules', '.bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
      const result = spawnSync('/bin/sh', ['-c', step], { cwd: ROOT, env, encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      // turbo's notice ("Turborepo now collects completely anonymous telemetry …"); the dry run's
      // JSON itself names NEXT_TELEMETRY_DISABLED in TinyOffice's build command.
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/anonymous telemetry/i);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
