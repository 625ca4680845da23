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
