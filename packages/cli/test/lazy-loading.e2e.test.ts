/**
 * The built `tinyagi` loads what the command uses (command-groups.ts, root-help.ts,
 * scripts/flatten-barrels.mjs, http-fetch.ts): `--version`, `--help`, `status` and `send` load
 * neither zod (the settings schema, the contract) nor the database driver, and print what the
 * full command tree prints; talking to a daemon loads no undici (node's fetch). Which files a
 * process loaded is recorded by a module hook given through NODE_OPTIONS, and node's own modules
 * from process.moduleLoadList at its exit.
 * (How fast that is: bench/src/cli-startup-bench.ts, not here.)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, runCli, tempDir, tempHome, type TempHome } from '@tinyagi/test-kit';
import { forgetOtherHomeKinds } from '../src/kind-modules.ts';
import { buildProgram } from '../src/program.ts';
import { VERSION } from '../src/version.ts';

const PARROT = fileURLToPath(new URL('./fixtures/parrot-channel/kind.ts', import.meta.url));

let t: TempHome;
let hook: string;
beforeAll(() => {
  t = tempHome({ prefix: 'tinyagi-lazy-' });
  // Appends every file: URL the process loads (ES modules and CommonJS) to $LOADED_LOG.
  hook = join(tempDir('tinyagi-lazy-hook-'), 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { if (url.startsWith('file:')) appendFileSync(process.env.LOADED_LOG, url + '\\n'); return next(url, context); } });
process.on('exit', () => appendFileSync(process.env.LOADED_LOG, process.moduleLoadList.map((m) => 'builtin:' + m + '\\n').join('')));
`,
  );
});
afterAll(() => t.cleanup());

/** Runs the built CLI; returns its result and the files it loaded. */
async function traced(args: string[], env: Record<string, string> = t.env) {
  const log = join(tempDir('tinyagi-lazy-log-'), 'loaded.txt');
  writeFileSync(log, '');
  const result = await runCli(args, { ...env, NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`, LOADED_LOG: log }, { build: 'built' });
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const files = lines.filter((l) => l.startsWith('file:')).map((url) => fileURLToPath(url));
  const builtins = lines.filter((l) => l.startsWith('builtin:')).map((l) => l.slice('builtin:'.length));
  return { ...result, files, builtins };
}

/** The loaded files that define zod's schemas or are the SQLite driver. */
function heavy(files: string[]): string[] {
  return files.filter((f) => /[\\/]better-sqlite3[\\/]|[\\/]zod[\\/]/.test(f) || readFileSync(f, 'utf8').includes('ZodObject'));
}

describe('the built CLI loads only what the command uses', () => {
  it('--version and -v print the version, loading no command', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await traced([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.stderr).toBe('');
      expect(heavy(r.files)).toEqual([]);
      expect(r.files.length).toBeLessThan(10);
    }
  });

  it('--help, -h and help print the full tree’s root help, loading no command', async () => {
    // The tree as a process of this home has it: an earlier file's in-process commands for a home with kind modules (kinds.e2e's parrot) left them registered in this shared worker.
    forgetOtherHomeKinds(t.home);
    const full = buildProgram().helpInformation();
    for (const ask of ['--help', '-h', 'help']) {
      const r = await traced([ask]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(full);
      expect(r.stderr).toBe('');
      expect(heavy(r.files)).toEqual([]);
    }
  });

  it('status and send without a daemon: the same answers, without zod or the database', async () => {
    const status = await traced(['status']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('TinyAGI is not running');
    expect(heavy(status.files)).toEqual([]);
    const send = await traced(['send', 'hello']);
    expect(send.code).toBe(1);
    expect(send.stderr).toContain('TinyAGI is not running');
    expect(heavy(send.files)).toEqual([]);
  });

  it('status and send with a daemon running: their answers, over node:http (no undici)', async () => {
    const d = await createDaemon({
      prefix: 'tinyagi-lazy-daemon-',
      settings: ({ root }) => ({
        workspace: { path: join(root, 'workspace') },
        models: { provider: 'mock' },
        agents: { helper: { provider: 'mock', mock: { reply: 'ok' } } },
        channels: { enabled: [] },
      }),
    });
    try {
      await d.start();
      const status = await traced(['status'], d.env);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('TinyAGI is running');
      const send = await traced(['send', 'hello'], d.env);
      expect(send.code).toBe(0);
      expect(send.stdout).toContain('Sent to @helper');
      for (const r of [status, send]) {
        expect(heavy(r.files)).toEqual([]);
        expect(r.builtins.length).toBeGreaterThan(50);
        expect(r.builtins.filter((m) => m.includes('undici'))).toEqual([]);
      }
    } finally {
      await d.cleanup();
    }
  });

  it('a command that reads settings still loads them (agent list)', async () => {
    const r = await traced(['agent', 'list']);
    expect(r.code).toBe(0);
    expect(heavy(r.files).length).toBeGreaterThan(0);
  });

  it('a kind module in TINYAGI_HOME/kinds/: the root help names its channel (from the full tree) and status loads it', async () => {
    const p = tempHome({ prefix: 'tinyagi-lazy-kinds-' });
    try {
      mkdirSync(join(p.home, 'kinds'), { recursive: true });
      writeFileSync(join(p.home, 'kinds', 'parrot.mjs'), `export * from ${JSON.stringify(pathToFileURL(PARROT).href)};\n`);
      const help = await traced(['--help'], p.env);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/chat channels \(discord, parrot, slack,\s+telegram, whatsapp\)/);
      const status = await traced(['status'], p.env);
      expect(status.code).toBe(1);
      expect(status.files).toContain(PARROT);
      // A module that fails is reported by every command, as before.
      writeFileSync(join(p.home, 'kinds', 'broken.mjs'), 'export const channelKinds = 42;\n');
      const warned = await runCli(['status'], p.env, { build: 'built' });
      expect(warned.stderr).toContain('warning: kind module');
      expect(warned.stderr).toContain('broken.mjs skipped');
    } finally {
      p.cleanup();
    }
  });
});
