/**
 * The release tarball, the way in that needs no published package: `pnpm release:pack`'s script
 * (scripts/release-pack.mjs) makes dist-release/tinyagi-<version>.tgz with every @tinyagi package
 * inside; a user installs that one file with `npm install -g` into a fresh prefix, with a fresh
 * HOME and a fresh npm cache, and the installed `tinyagi` answers --version, starts the daemon
 * (the mock replies, TinyOffice is served from the package), stops it and uninstalls.
 *
 * The @tinyagi scope points at a closed port for the install: a package of ours fetched from any
 * registry, instead of from the tarball, fails it. Third-party packages come from the npm
 * registry, as for a user (one install of ~390 packages with a cold cache: the file's cost).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@tinyagi/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishablePackages, runCommand, userEnv, withDependencies } from './packing.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
// A cold npm cache fetches every third-party dependency from the registry.
const INSTALL_TIMEOUT_MS = 600_000;
const COMMAND_TIMEOUT_MS = 90_000;

let root: string;
let tarball: string;
let prefix: string;
let env: Record<string, string>;
let cwd: string;

function run(command: string, args: string[], timeout = COMMAND_TIMEOUT_MS, options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ status: number | null; out: string }> {
  return runCommand(command, args, { cwd: options.cwd ?? cwd, env: options.env ?? env, timeout });
}

async function ok(command: string, args: string[], timeout?: number): Promise<string> {
  const result = await run(command, args, timeout);
  const log = join(env.HOME!, '.tinyagi', 'logs', 'daemon.log');
  const tail = existsSync(log) ? `\n--- ${log} (end) ---\n${readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')}` : '';
  expect(result.status, `${command} ${args.join(' ')}:\n${result.out}${tail}`).toBe(0);
  return result.out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-release-'));
  // The script as `pnpm release:pack` runs it after its build (turbo has built the packages).
  const made = await run(process.execPath, [join(ROOT, 'scripts/release-pack.mjs'), '--out', join(root, 'dist-release')], 180_000, { cwd: ROOT, env: { ...process.env } as Record<string, string> });
  expect(made.status, made.out).toBe(0);
  tarball = made.out.trim().split('\n').at(-1)!;

  prefix = join(root, 'prefix');
  const home = join(root, 'home');
  cwd = join(home, 'empty');
  mkdirSync(cwd, { recursive: true });
  env = userEnv({ home, pathDirs: [join(prefix, 'bin')], npmCache: join(root, 'npm-cache'), apiPort: await freePort() });
}, 240_000);

afterAll(async () => {
  if (prefix && existsSync(join(prefix, 'bin', 'tinyagi'))) await run('tinyagi', ['stop']);
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the release tarball installs alone', () => {
  it('holds tinyagi with every @tinyagi package it needs in its bundle, TinyOffice, and no install script of ours', () => {
    expect(basename(tarball)).toBe(`tinyagi-${VERSION}.tgz`);
    const unpacked = join(root, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    expect(existsSync(join(unpacked, 'package/office/index.html'))).toBe(true);
    const read = (path: string) => JSON.parse(readFileSync(join(unpacked, path), 'utf8')) as Record<string, unknown> & { name: string; version: string };

    const manifest = read('package/package.json') as ReturnType<typeof read> & { dependencies: Record<string, string>; bundleDependencies: string[]; scripts?: unknown };
    const ours = withDependencies('tinyagi', publishablePackages())
      .map((p) => p.manifest.name)
      .filter((name) => name !== 'tinyagi')
      .sort();
    expect(ours.length).toBeGreaterThan(5);
    expect(manifest.bundleDependencies.sort()).toEqual(ours.filter((name) => manifest.dependencies[name] !== undefined));
    for (const name of ours) {
      const bundled = read(`package/node_modules/${name}/package.json`) as ReturnType<typeof read> & { dependencies?: Record<string, string>; scripts?: Record<string, string> };
      expect(bundled.version, name).toBe(VERSION);
      // Its registry dependencies are tinyagi's, installed beside the bundle (npm would leave them empty inside it).
      for (const [dependency, spec] of Object.entries(bundled.dependencies ?? {})) expect(ours, `${name} → ${dependency}@${spec}`).toContain(dependency);
      expect(
        Object.keys(bundled.scripts ?? {}).filter((s) => /^(pre|post)?install$|^prepare$/.test(s)),
        name,
      ).toEqual([]);
    }
    expect(manifest.scripts).toBeUndefined();
  });

  it(
    'npm install -g of the one file into a fresh prefix, fresh HOME and cache: --version, start, a reply, TinyOffice, stop, uninstall',
    async () => {
      const started = performance.now();
      const installed = await ok('npm', ['install', '-g', '--prefix', prefix, '--@tinyagi:registry=http://127.0.0.1:9/', '--fetch-timeout=60000', '--fetch-retries=4', tarball], INSTALL_TIMEOUT_MS);
      console.log(`npm install -g ./${basename(tarball)} (fresh prefix, cold npm cache): ${Math.round((performance.now() - started) / 100) / 10} s`);
      // npm lists dependencies whose install scripts nobody approved; none may be ours.
      const unapproved = installed.split('\n').filter((line) => line.includes('install-scripts') && /@\d/.test(line));
      expect(unapproved.filter((line) => /\btinyagi@|@tinyagi\//.test(line))).toEqual([]);

      expect((await ok('tinyagi', ['--version'])).trim()).toBe(VERSION);
      expect(await ok('tinyagi', ['start'])).toContain('TinyAGI is running');
      expect(await ok('tinyagi', ['send', '--wait', 'hello from the release tarball'])).toContain('[mock] tinyagi: received "hello from the release tarball"');
      const office = await ok('tinyagi', ['office', '--no-open']);
      const link = /http:\/\/\S+\/login#code=\S+/.exec(office)?.[0];
      expect(link, office).toBeDefined();
      const page = await fetch(link!.slice(0, link!.indexOf('#')));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      expect(await ok('tinyagi', ['stop'])).toContain('TinyAGI stopped');

      await ok('npm', ['uninstall', '-g', '--prefix', prefix, 'tinyagi']);
      expect(existsSync(join(prefix, 'bin', 'tinyagi'))).toBe(false);
    },
    INSTALL_TIMEOUT_MS + 120_000,
  );
});
