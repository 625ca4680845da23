/**
 * The user's path, from the packed tarballs only: `npm i -g tinyagi` into a fresh prefix with a
 * fresh HOME, `tinyagi start` in an empty folder, a reply from the mock runtime, an upgrade
 * (`npm i -g` of the new release over the running SQLite and PostgreSQL homes, `tinyagi restart`)
 * that migrates and keeps the history, TinyOffice served from the installed package and logged
 * into by a real browser (Debian's Chromium), `tinyagi stop`, a downgrade refused with its reason,
 * and `npx` of a tarball in an empty folder with a fresh HOME.
 *
 * tinyagi's own dependencies (@tinyagi/*) come from a local registry that serves the tarballs as
 * the npm registry serves published packages (registry.ts), so the install resolves them exactly
 * as a user's `npm i -g tinyagi` will; everything else comes from the npm registry (the shared npm
 * cache keeps that fast). The "next release" is the same tarballs as a pre-release of the next
 * version with one more migration in @tinyagi/core (SQLite and PostgreSQL), so the upgrade has a
 * migration to apply and the downgrade a newer database to refuse.
 *
 * Each install of tinyagi is ~400 packages (a global package carries its own node_modules), so the
 * file makes three, not more: this release globally, the next one over it, and this one once more
 * through npx, which serves both the downgrade (an older version run on a migrated home) and npx
 * in a fresh HOME (npm's cache has it then).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium } from '@playwright/test';
import { freePort } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, runCommand, userEnv, withDependencies } from './packing.ts';
import { type LocalRegistry, startLocalRegistry } from './registry.ts';

const CHROMIUM = process.env.TINYOFFICE_CHROMIUM ?? '/usr/bin/chromium';
// A cold npm cache fetches every dependency from the registry (pack.test.ts says how slow that was once).
const INSTALL_TIMEOUT_MS = 600_000;
const COMMAND_TIMEOUT_MS = 90_000;

let root: string;
let registry: LocalRegistry;
let prefix: string;
/** npm's cache of this machine, kept when HOME is a fresh one (npm would otherwise start cold). */
let npmCache: string;
const current = new Map<string, string>();
const next = new Map<string, string>();
const pgDb = await pgTestDatabase();
/** A database of its own (dropped after), so the home's default schema `tinyagi` is fresh. */
const pgDatabase = testSchema('packtest');

interface Home {
  home: string;
  cwd: string;
  env: Record<string, string>;
}
const homes: Home[] = [];

/** A user's environment: this machine's PATH and network settings, nothing of TinyAGI's, a fresh HOME. */
async function freshHome(name: string, extra: Record<string, string> = {}, options: { globalBin?: boolean } = {}): Promise<Home> {
  const home = join(root, name);
  const cwd = join(home, 'empty');
  mkdirSync(cwd, { recursive: true });
  const env = {
    ...userEnv({ home, pathDirs: options.globalBin === false ? [] : [join(prefix, 'bin')], npmCache, apiPort: await freePort() }),
    ...extra,
  };
  const h = { home, cwd, env };
  homes.push(h);
  return h;
}

/**
 * Runs a command as the user of home h. Never spawnSync: the local registry answers npm from this
 * process's event loop.
 */
function sh(h: Home, command: string, args: string[], timeout = COMMAND_TIMEOUT_MS): Promise<{ status: number | null; out: string }> {
  // Scoped to @tinyagi: tinyagi's own dependencies as published, the rest from the npm registry.
  const npmArgs = command === 'npm' || command === 'npx' ? [`--@tinyagi:registry=${registry.url}/`, '--prefer-offline', '--loglevel=error', ...args] : args;
  return runCommand(command, npmArgs, { cwd: h.cwd, env: h.env, timeout });
}

/** The end of the home's daemon log, for a failure's message (the home is deleted after the run). */
function daemonLogTail(h: Home): string {
  const log = join(h.home, '.tinyagi', 'logs', 'daemon.log');
  return existsSync(log) ? `\n--- ${log} (end) ---\n${readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')}` : '';
}

async function ok(h: Home, command: string, args: string[], timeout?: number): Promise<string> {
  const result = await sh(h, command, args, timeout);
  expect(result.status, `${command} ${args.join(' ')}:\n${result.out}${daemonLogTail(h)}`).toBe(0);
  return result.out;
}

async function installGlobally(h: Home, tarball: string): Promise<number> {
  const started = performance.now();
  await ok(h, 'npm', ['install', '--global', '--prefix', prefix, '--fetch-timeout=60000', '--fetch-retries=4', tarball], INSTALL_TIMEOUT_MS);
  return Math.round((performance.now() - started) / 100) / 10;
}

/** The migration the next release adds (a table nothing reads: the code is this release's). */
const PROBE_MIGRATION = '9999_user_path_probe';

/**
 * The next release: the same tarball as a pre-release of the next patch version, its @tinyagi
 * dependencies pinned to it, and core with one more migration (SQLite and PostgreSQL). Adding a
 * migration, not removing one, keeps both releases' code on a schema it knows.
 */
function nextRelease(tarball: string, into: string): string {
  const dir = mkdtempSync(join(root, 'next-'));
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const manifestFile = join(dir, 'package', 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { name: string; version: string; dependencies?: Record<string, string> };
  const [major, minor, patch] = manifest.version.split(/[.-]/).map(Number);
  const version = `${major}.${minor}.${patch! + 1}-next`;
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (name.startsWith('@tinyagi/')) manifest.dependencies![name] = version;
  }
  manifest.version = version;
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  if (manifest.name === '@tinyagi/core') {
    for (const folder of ['drizzle', 'drizzle-pg']) {
      const journalFile = join(dir, 'package', folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ idx: number; when: number; tag: string }> };
      const last = journal.entries.at(-1)!;
      journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1000, tag: PROBE_MIGRATION });
      writeFileSync(join(dir, 'package', folder, `${PROBE_MIGRATION}.sql`), 'CREATE TABLE user_path_probe (id integer PRIMARY KEY);\n');
      writeFileSync(journalFile, `${JSON.stringify(journal, null, 2)}\n`);
    }
  }
  const out = join(into, basename(tarball).replace(/-[\d.]+\.tgz$/, `-${version}.tgz`));
  execFileSync('tar', ['-czf', out, '-C', dir, 'package']);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** `npx <this release's tinyagi tarball> tinyagi …`: npm installs it into its cache once, then reuses it. */
function npxRelease(): string[] {
  return ['--yes', `--package=${current.get('tinyagi')}`, '--', 'tinyagi'];
}

function pgUrl(database: string): string {
  const url = new URL(pgDb.url);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onTestDatabase(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgDb.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-user-'));
  prefix = join(root, 'prefix');
  npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
  registry = await startLocalRegistry();
  const tarballs = join(root, 'tarballs');
  mkdirSync(join(tarballs, 'next'), { recursive: true });
  for (const p of withDependencies('tinyagi')) {
    const tarball = pack(p, tarballs);
    current.set(p.manifest.name, tarball);
    next.set(p.manifest.name, nextRelease(tarball, join(tarballs, 'next')));
    registry.add(tarball);
    registry.add(next.get(p.manifest.name)!);
  }
  if (!pgDb.skip) await onTestDatabase(`CREATE DATABASE ${pgDatabase}`);
}, 120_000);

afterAll(async () => {
  for (const h of homes) if (existsSync(join(prefix, 'bin', 'tinyagi'))) await sh(h, 'tinyagi', ['stop']);
  for (const h of homes.filter((x) => x.home.endsWith('npx'))) await sh(h, 'npx', [...npxRelease(), 'stop']);
  await registry?.close();
  if (!pgDb.skip) await onTestDatabase(`DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`);
  // npx installs into the shared cache's _npx/<hash>: remove this run's (its package.json names a
  // tarball under root), never another run's that may be in use.
  const npxDir = npmCache ? join(npmCache, '_npx') : undefined;
  for (const dir of npxDir && existsSync(npxDir) ? readdirSync(npxDir) : []) {
    const manifest = join(npxDir!, dir, 'package.json');
    if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(basename(root))) rmSync(join(npxDir!, dir), { recursive: true, force: true });
  }
  if (root) rmSync(root, { recursive: true, force: true });
}, 300_000);

describe('a user installs tinyagi with npm', () => {
  let sqliteHome: Home;
  let pgHome: Home | undefined;

  it(
    'npm i -g of the tarball into a fresh prefix: start in an empty folder, the mock replies (SQLite and PostgreSQL homes)',
    async () => {
      sqliteHome = await freshHome('home');
      const seconds = await installGlobally(sqliteHome, current.get('tinyagi')!);
      console.log(`npm i -g tinyagi (fresh prefix, warm npm cache): ${seconds} s`);
      const started = await ok(sqliteHome, 'tinyagi', ['start']);
      expect(started).toContain('TinyAGI is running');
      expect(started).toContain('Open TinyOffice (the web portal): tinyagi office');
      expect(await ok(sqliteHome, 'tinyagi', ['send', '--wait', 'before the upgrade'])).toContain('[mock] tinyagi: received "before the upgrade"');

      if (pgDb.skip) return;
      pgHome = await freshHome('home-pg', { TINYAGI_DATABASE_URL: pgUrl(pgDatabase) });
      await ok(pgHome, 'tinyagi', ['start']);
      expect(await ok(pgHome, 'tinyagi', ['send', '--wait', 'before the upgrade on postgres'])).toContain('[mock] tinyagi: received "before the upgrade on postgres"');
    },
    INSTALL_TIMEOUT_MS + 120_000,
  );

  it(
    'npm i -g of the new release over the running homes: restart migrates, the history stays, the mock replies',
    async () => {
      const seconds = await installGlobally(sqliteHome, next.get('tinyagi')!);
      console.log(`npm i -g tinyagi's next release over this one: ${seconds} s`);
      const installed = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'tinyagi', 'package.json'), 'utf8')) as { version: string };
      expect(installed.version).toMatch(/-next$/);
      for (const h of [sqliteHome, ...(pgHome ? [pgHome] : [])]) {
        await ok(h, 'tinyagi', ['restart']);
        // The next release ships the probe migration; nothing pending means the restart applied it.
        const doctor = JSON.parse((await sh(h, 'tinyagi', ['doctor', '--json'])).out) as { findings: Array<{ check: string; details?: { pending: string[] } }> };
        const migrations = doctor.findings.find((f) => f.check === 'migrations');
        expect(migrations?.details?.pending, JSON.stringify(doctor.findings)).toEqual([]);
        const history = await ok(h, 'tinyagi', ['conversation', 'list']);
        expect(history).toContain('before the upgrade');
        expect(await ok(h, 'tinyagi', ['send', '--wait', 'after the upgrade'])).toContain('[mock] tinyagi: received "after the upgrade"');
      }
    },
    INSTALL_TIMEOUT_MS + 120_000,
  );

  it('tinyagi office: the installed package serves TinyOffice with its security headers, and a real browser logs in with the link', async () => {
    const out = await ok(sqliteHome, 'tinyagi', ['office', '--no-open']);
    const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
    expect(link, out).toBeDefined();
    const base = link!.slice(0, link!.indexOf('/login'));
    const page = await fetch(`${base}/login`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    await page.body?.cancel();

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const tab = await browser.newPage();
      await tab.goto(link!);
      await tab.waitForURL(`${base}/`);
      await tab.getByTestId('connection').and(tab.locator('[data-state="open"]')).waitFor();
      expect((await tab.context().cookies()).map((c) => c.name)).toEqual(['tinyagi_session']);
    } finally {
      await browser.close();
    }
    if (pgHome) expect(await ok(pgHome, 'tinyagi', ['stop'])).toContain('TinyAGI stopped');
  }, 120_000);

  it(
    'a downgrade is refused with the reason: this release (npx of its tarball) on the homes the next one migrated',
    async () => {
      expect(await ok(sqliteHome, 'tinyagi', ['stop'])).toContain('TinyAGI stopped');
      const started = performance.now();
      for (const h of [sqliteHome, ...(pgHome ? [pgHome] : [])]) {
        const refused = await sh(h, 'npx', [...npxRelease(), 'start'], INSTALL_TIMEOUT_MS);
        expect(refused.status, refused.out).not.toBe(0);
        expect(refused.out).toMatch(/migrated by a newer TinyAGI/);
      }
      console.log(`npx tinyagi start (warm npm cache, including the refused starts): ${Math.round((performance.now() - started) / 100) / 10} s`);
    },
    INSTALL_TIMEOUT_MS + 120_000,
  );

  it('npx of the tarball in an empty folder with a fresh HOME: start, the mock replies, stop', async () => {
    const h = await freshHome('home-npx', {}, { globalBin: false });
    expect(await ok(h, 'npx', [...npxRelease(), 'start'])).toContain('TinyAGI is running');
    expect(await ok(h, 'npx', [...npxRelease(), 'send', '--wait', 'hello from npx'])).toContain('[mock] tinyagi: received "hello from npx"');
    expect(await ok(h, 'npx', [...npxRelease(), 'stop'])).toContain('TinyAGI stopped');
  }, 120_000);
});
