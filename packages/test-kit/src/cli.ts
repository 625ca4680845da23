/**
 * Running the real `tinyagi` CLI as a subprocess: the built one (packages/cli/dist/bin.js, what
 * users run; the test task must depend on `tinyagi#build`) or the sources (no build; node strips
 * the types and resolves workspace packages through the `tinyagi-source` condition).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI_BUILT = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
export const CLI_SOURCE = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));

/** 'built', 'source', or another build's entry file (e.g. a checkout of an older commit, for before/after figures). */
export type CliBuild = 'built' | 'source' | { entry: string };

/** node's argv (before the CLI's own arguments) for one build of the CLI. */
export function cliArgv(build: CliBuild, nodeOptions: string[] = []): string[] {
  if (build === 'source') return [...nodeOptions, '--conditions=tinyagi-source', CLI_SOURCE];
  if (typeof build === 'object') return [...nodeOptions, build.entry];
  if (!existsSync(CLI_BUILT)) throw new Error(`the built CLI (${CLI_BUILT}) is missing: run \`pnpm --filter tinyagi... build\``);
  return [...nodeOptions, CLI_BUILT];
}

/**
 * The child's environment, exactly `env` (no inherited variables). Typed as ProcessEnv by a cast:
 * Next's types (apps/tinyoffice imports the kit) make NODE_ENV a required ProcessEnv key.
 */
const processEnv = (env: Record<string, string>): NodeJS.ProcessEnv => env as NodeJS.ProcessEnv;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  build?: CliBuild;
  input?: string;
  /** Bounds a hung command (it is killed and the promise rejects); default 60 s. */
  timeoutMs?: number;
  /** A command that runs node for it (node's path and arguments follow): a machine's `nsenter` (machines.ts). */
  launcher?: string[];
}

export function runCli(args: string[], env: Record<string, string>, options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = launch([...cliArgv(options.build ?? 'source'), ...args], options.launcher);
    const child = spawn(file, argv, { env: processEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tinyagi ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs and requires exit code 0; returns stdout. */
export async function runCliOk(args: string[], env: Record<string, string>, options: RunCliOptions = {}): Promise<string> {
  const result = await runCli(args, env, options);
  if (result.code !== 0) throw new Error(`tinyagi ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

export interface SpawnedCli {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
}

/** Starts a long-running command (`run`, `chatroom -f`, …); the caller stops it. */
export function spawnCli(args: string[], env: Record<string, string>, options: { build?: CliBuild; nodeOptions?: string[]; launcher?: string[] } = {}): SpawnedCli {
  return spawnNode([...cliArgv(options.build ?? 'source', options.nodeOptions), ...args], env, options.launcher);
}

/** node with exactly these arguments (a daemon launched as `tinyagi start` launches it), through `launcher` when given. */
export function spawnNode(argv: string[], env: Record<string, string>, launcher?: string[]): SpawnedCli {
  const [file, args] = launch(argv, launcher);
  const child = spawn(file, args, { env: processEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** The program and arguments that run node with `argv`: node itself, or the launcher followed by node's path. */
function launch(argv: string[], launcher: string[] | undefined): [string, string[]] {
  if (!launcher?.length) return [process.execPath, argv];
  const [file, ...rest] = launcher as [string, ...string[]];
  return [file, [...rest, process.execPath, ...argv]];
}
