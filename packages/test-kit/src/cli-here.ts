/**
 * Running `tinyagi <args>` inside the test's own process: the CLI's `main(argv)` from the sources
 * (packages/cli/src/main.ts), with no node start-up. For tests of what a command prints and how
 * it parses its arguments; what needs a process of its own (start and detach, signals, the
 * start-up snapshot, the built bundle's wiring, exit of the real binary) runs through `runCli`.
 *
 * For the call, the process is made to look like a piped `tinyagi` child's: process.env is
 * exactly `env` (as `runCli` gives the child exactly `env`), stdin is a pipe that yields `input`
 * and ends, stdout and stderr are captured and are not terminals, process.exitCode starts
 * unset, and fetch gets a connection pool of its own, destroyed when the call returns (as a
 * process's connections end with it: no kept-alive socket passes from one call to the next).
 * All of it is put back afterwards. Calls run one at a time, since they share the process's
 * environment and streams: a second call waits for the first to return.
 *
 * What stays in the process between calls: the loaded modules, and the kinds of the last home
 * whose modules were registered (registered once, as in a long-lived process; a call for another
 * home takes them out first, packages/cli/src/kind-modules.ts). What the test
 * itself fetches while a call runs goes through the call's connection pool.
 */
import { Readable } from 'node:stream';
import type { CliResult, RunCliOptions } from './cli.ts';

const CLI_MAIN = new URL('../../cli/src/main.ts', import.meta.url).href;

type CliMain = (argv: readonly string[]) => Promise<number>;
let loaded: Promise<CliMain> | undefined;
let queue: Promise<unknown> = Promise.resolve();

export type RunCliHereOptions = Pick<RunCliOptions, 'input' | 'timeoutMs'>;

export function runCliHere(args: string[], env: Record<string, string>, options: RunCliHereOptions = {}): Promise<CliResult> {
  const run = queue.then(() => callMain(args, env, options));
  queue = run.catch(() => undefined);
  return run;
}

/** Runs and requires exit code 0; returns stdout. */
export async function runCliHereOk(args: string[], env: Record<string, string>, options: RunCliHereOptions = {}): Promise<string> {
  const result = await runCliHere(args, env, options);
  if (result.code !== 0) throw new Error(`tinyagi ${args.join(' ')} (in process) exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

async function callMain(args: string[], env: Record<string, string>, options: RunCliHereOptions): Promise<CliResult> {
  loaded ??= import(/* @vite-ignore */ CLI_MAIN).then((m: { main: CliMain }) => m.main);
  const main = await loaded;
  const result = { code: null as number | null, stdout: '', stderr: '' };
  const endConnections = await swapDispatcher();
  const restore = [
    swapEnv(env),
    swapStdin(options.input ?? ''),
    capture(process.stdout, (text) => (result.stdout += text)),
    capture(process.stderr, (text) => (result.stderr += text)),
    swapExitCode(),
  ];
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tinyagi ${args.join(' ')} (in process) did not return in ${timeoutMs} ms\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)), timeoutMs);
    });
    // A call that times out is left running: the test fails, and the process state is put back.
    result.code = await Promise.race([main(args), timedOut]);
    return result;
  } finally {
    clearTimeout(timer);
    for (const undo of restore.reverse()) undo();
    await endConnections();
  }
}

/** Where Node's fetch (its bundled undici) keeps the dispatcher it sends through. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

interface Dispatcher {
  destroy(): Promise<void>;
}

/**
 * fetch sends through a new dispatcher (an Agent of the class Node's fetch uses: no package of
 * our own) until the returned function destroys it and puts the previous one back.
 */
async function swapDispatcher(): Promise<() => Promise<void>> {
  const slot = globalThis as unknown as Record<symbol, Dispatcher | undefined>;
  // fetch creates its global dispatcher when first used; a data: URL makes no connection.
  if (slot[GLOBAL_DISPATCHER] === undefined) await (await fetch('data:,')).text();
  const previous = slot[GLOBAL_DISPATCHER]!;
  const own = new (previous.constructor as new () => Dispatcher)();
  slot[GLOBAL_DISPATCHER] = own;
  return async () => {
    slot[GLOBAL_DISPATCHER] = previous;
    await own.destroy();
  };
}

/** process.env becomes exactly `env` (the same object, its keys replaced); returns the undo. */
function swapEnv(env: Record<string, string>): () => void {
  const saved = { ...process.env };
  const replace = (next: Record<string, string | undefined>): void => {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, next);
  };
  replace(env);
  return () => replace(saved);
}

/** process.stdin becomes a pipe that yields `input` and ends; returns the undo. */
function swapStdin(input: string): () => void {
  const saved = Object.getOwnPropertyDescriptor(process, 'stdin');
  const stdin = Readable.from(input === '' ? [] : [Buffer.from(input)], { objectMode: false });
  Object.defineProperty(process, 'stdin', { get: () => stdin, configurable: true, enumerable: true });
  return () => {
    stdin.destroy();
    if (saved) Object.defineProperty(process, 'stdin', saved);
  };
}

/** Everything written to `stream` goes to `sink`, and the stream is no terminal; returns the undo. */
function capture(stream: NodeJS.WriteStream, sink: (text: string) => void): () => void {
  const write = Object.getOwnPropertyDescriptor(stream, 'write');
  const isTTY = Object.getOwnPropertyDescriptor(stream, 'isTTY');
  stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), done?: (err?: Error | null) => void): boolean => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
    const callback = typeof encoding === 'function' ? encoding : done;
    if (callback) process.nextTick(callback);
    return true;
  }) as typeof stream.write;
  Object.defineProperty(stream, 'isTTY', { value: false, configurable: true, writable: true });
  return () => {
    if (write) Object.defineProperty(stream, 'write', write);
    else delete (stream as { write?: unknown }).write;
    if (isTTY) Object.defineProperty(stream, 'isTTY', isTTY);
    else delete (stream as { isTTY?: boolean }).isTTY;
  };
}

/** process.exitCode starts unset (main returns it); returns the undo. */
function swapExitCode(): () => void {
  const saved = process.exitCode;
  process.exitCode = undefined;
  return () => {
    process.exitCode = saved;
  };
}
