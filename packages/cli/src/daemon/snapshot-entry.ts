/**
 * The daemon's start-up snapshot builder (docs/startup-snapshot.md), bundled by
 * scripts/bundle.mjs into one CommonJS file, `dist/daemon.cjs`; launch.ts runs node's
 * `--build-snapshot` on it and starts the daemon from the blob.
 *
 * Building evaluates every module the daemon loads at start (core, teams, the server, fastify,
 * zod and the API contract). Nothing else: no settings read, no file opened, no timer left, no
 * object of the daemon built (the API's app is built plainly when the daemon starts). What is computed while building is frozen into the blob, so two things are refused
 * here:
 * - randomness: node's `randomUUID` keeps a pool of pre-generated values, and our id generator
 *   one of random words; drawn at build time they would repeat in every daemon started from
 *   the blob. Any draw while building fails the build (the daemon then starts without it);
 * - the standard streams: their kind (terminal, pipe, file) is the launcher's, not the daemon's.
 * Everything that depends on the environment is read when the daemon runs, in the main function
 * below, which gets `run` and its options as argv.
 */
import { createRequire, enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { buildTimeUses } from './snapshot-guard.ts';
import { handleBrokenPipes } from '../output/broken-pipe.ts';
import { runArgs } from './launch.ts';
import { isPlainRun, runDaemonEntry } from './run-entry.ts';
import { runDaemon } from './run.ts';

declare const __dirname: string;

/** What the bundle's external packages (better-sqlite3, the channels, …) are required through. */
declare global {
  var __tinyagiRequire: NodeJS.Require | undefined;
}

if (startupSnapshot.isBuildingSnapshot()) {
  // Referenced so that the bundler keeps the daemon's module graph in the evaluated build.
  if (typeof runDaemon !== 'function') throw new Error('the daemon module did not load');
  startupSnapshot.addSerializeCallback(() => {
    if (buildTimeUses.length > 0) {
      throw new Error(`Loading the daemon used ${[...new Set(buildTimeUses)].join(', ')}: that would be frozen into the start-up snapshot. Move it from module scope into a function.`);
    }
  });
  const dist = __dirname;
  startupSnapshot.setDeserializeMainFunction(() => {
    globalThis.__tinyagiRequire = createRequire(join(dist, 'bin.js'));
    enableCompileCache?.();
    const args = runArgs();
    handleBrokenPipes();
    if (args === undefined || !isPlainRun(args)) {
      process.stderr.write(`error: this start-up snapshot runs \`tinyagi run\` only (got: ${process.argv.slice(1).join(' ')}).\n`);
      process.exitCode = 2;
      return;
    }
    void runDaemonEntry(args).then((code) => {
      process.exitCode = code;
    });
  });
} else {
  throw new Error(`${__filename}: build a start-up snapshot from this file (node --build-snapshot), do not run it.`);
}

declare const __filename: string;
