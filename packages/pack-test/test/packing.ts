/**
 * The publishable packages (non-private, under packages/) and packing one with `pnpm pack` (which
 * runs its prepack/postpack scripts, as `pnpm publish` does): shared by the library users' test
 * and the user's-path test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackedManifest } from './tarball.ts';

export const PACKAGES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PACK_TIMEOUT_MS = 60_000;

export interface Publishable {
  dir: string;
  /** packages/<slug>: names the example files. */
  slug: string;
  manifest: PackedManifest;
}

export function publishablePackages(): Publishable[] {
  return readdirSync(PACKAGES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(PACKAGES_DIR, entry.name, 'package.json')))
    .map((entry) => {
      const dir = join(PACKAGES_DIR, entry.name);
      return { dir, slug: entry.name, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackedManifest };
    })
    .filter((p) => p.manifest.private !== true)
    .sort((a, b) => a.slug.localeCompare(b.slug));
}

/** Packs one package into destination; returns the tarball's path. Needs its dist/ (`pnpm build`). */
export function pack(p: Publishable, destination: string): string {
  if (!existsSync(join(p.dir, 'dist'))) throw new Error(`${p.manifest.name} has no dist/: run \`pnpm build\` first`);
  const before = new Set(readdirSync(destination));
  execFileSync('pnpm', ['pack', '--pack-destination', destination], { cwd: p.dir, stdio: 'pipe', timeout: PACK_TIMEOUT_MS });
  const created = readdirSync(destination).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (created.length !== 1) throw new Error(`pnpm pack in ${p.dir} made ${created.length} tarballs`);
  return join(destination, created[0]!);
}

/** The package and every publishable package it depends on, directly or through another (the tarballs a user's install of it needs). */
export function withDependencies(name: string, packages = publishablePackages()): Publishable[] {
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const picked = new Map<string, Publishable>();
  const visit = (n: string): void => {
    const p = byName.get(n);
    if (p === undefined || picked.has(n)) return;
    picked.set(n, p);
    for (const dependency of Object.keys(p.manifest.dependencies ?? {})) visit(dependency);
  };
  visit(name);
  return [...picked.values()];
}

/** Runs a command to its end (or `timeout`), its stdout and stderr together: what a person at a terminal reads. */
export function runCommand(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeout: number }): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeout });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, out: signal ? `${out}\n(killed by ${signal} after ${options.timeout} ms)` : out }));
  });
}

/**
 * A user's environment for npm and tinyagi: this machine's PATH and network settings (npm's proxy,
 * registry and CA; NODE_EXTRA_CA_CERTS as npm's cafile, which npm does not read), nothing of
 * TinyAGI's or of pnpm's script runner (its dozens of npm_* variables), a fresh HOME and npm cache,
 * a free API port of its own (fixed: `tinyagi restart` finds the daemon on it again).
 */
export function userEnv(input: { home: string; pathDirs: string[]; npmCache: string; apiPort: number }): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && (/^npm_config_(cafile|ca|proxy|https_proxy|noproxy|registry|strict_ssl)$/i.test(e[0]) || !/^(TINYAGI_|npm_|PNPM_|VITEST|NODE_OPTIONS$)/i.test(e[0])),
    ),
  );
  return {
    ...inherited,
    ...(process.env.NODE_EXTRA_CA_CERTS && !process.env.npm_config_cafile ? { npm_config_cafile: process.env.NODE_EXTRA_CA_CERTS } : {}),
    HOME: input.home,
    PATH: [...input.pathDirs, dirname(process.execPath), process.env.PATH ?? ''].join(':'),
    npm_config_cache: input.npmCache,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    TINYAGI_API_PORT: String(input.apiPort),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}
