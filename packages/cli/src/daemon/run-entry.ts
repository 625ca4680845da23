/**
 * `tinyagi run` straight from bin.ts, without the CLI's command parser: the daemon never needs
 * commander or the other commands' modules, and not loading them keeps ~0.5 MB of source and
 * objects out of its heap for its whole life (docs/profiling.md, the main job round 4). Any
 * other argument (`--help`, an unknown option) goes through the parser as before.
 */
import { ALLOW_REMOTE_ENV } from '../core-internal.ts';
import { cliContext, type CliContext } from '../context.ts';
import { keepRunningWhenStdoutCloses } from '../output/broken-pipe.ts';
import { registerBuiltinKinds, registerHomeKinds } from '../kinds.ts';

export { isPlainRun } from './launch.ts';

/** `--listen-any`: the operator's opt-in to a server.host beyond loopback, passed to the daemon's environment. */
export function withListenOptIn(ctx: CliContext, listenAny: boolean | undefined): CliContext {
  return listenAny ? { ...ctx, env: { ...ctx.env, [ALLOW_REMOTE_ENV]: '1' } } : ctx;
}

/** Runs the daemon in the foreground; resolves with its exit code. */
export async function runDaemonEntry(args: readonly string[]): Promise<number> {
  const debug = args.includes('--debug');
  try {
    keepRunningWhenStdoutCloses();
    registerBuiltinKinds();
    const ctx = withListenOptIn(cliContext({ debug }), args.includes('--listen-any'));
    await registerHomeKinds(ctx.home, (message) => process.stderr.write(`warning: ${message}\n`));
    const { runDaemon } = await import('./run.ts');
    return await runDaemon(ctx);
  } catch (err) {
    const { reportError } = await import('../output/report-error.ts');
    return reportError(err, debug);
  }
}
