import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `pnpm run build` of the whole workspace (the daemon the benchmarks start is packages/cli/dist). */
export function buildWorkspace(): void {
  execFileSync('pnpm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'ignore', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
}

/** Debian's socket of the local PostgreSQL (port 5432). */
const LOCAL_SOCKET_DIR = '/var/run/postgresql';

/**
 * The PostgreSQL database of B5's nodes and B13 (TINYAGI_BENCH_DATABASE_URL): by default the
 * local one through its Unix socket where the machine has it, as docs/postgresql.md advises a
 * node on the database's machine (over loopback TCP every write also costs the writer the
 * receiver's side of the network stack), else over TCP.
 */
export const BENCH_DATABASE_URL =
  process.env.TINYAGI_BENCH_DATABASE_URL ||
  (existsSync(join(LOCAL_SOCKET_DIR, '.s.PGSQL.5432')) ? `postgres://postgres@${encodeURIComponent(LOCAL_SOCKET_DIR)}/test` : 'postgres://postgres@127.0.0.1:5432/test');

/** How the benchmarks reach PostgreSQL, for their tables' headers. */
export function pgConnectionLine(): string {
  const url = new URL(BENCH_DATABASE_URL);
  const socket = url.hostname.startsWith('%2F') || (url.searchParams.get('host') ?? '').startsWith('/');
  return socket ? 'through its Unix socket' : `over TCP (${url.host})`;
}

/** The 1-minute load average (on 2 cores anything above ~0.5 means other processes took CPU). */
export function loadLine(): string {
  return loadavg()[0]!.toFixed(2);
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
