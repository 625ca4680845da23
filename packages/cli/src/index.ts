/**
 * `tinyagi` as a library: run the CLI or the daemon from another program (e.g. an embedding
 * process manager). The command itself is the `tinyagi` bin.
 */
export { main } from './main.ts';
// startDaemon takes the context main() builds from argv and the environment.
export { cliContext, type CliContext } from './context.ts';
export { startDaemon, DEFAULT_START_TIMEOUT_MS, type StartResult } from './daemon/start.ts';
// The V8 flags `tinyagi start` gives the daemon's node: a process manager that runs `tinyagi run` itself passes them too (else it re-executes itself once to add them).
export { DAEMON_NODE_FLAGS } from './daemon/node-flags.ts';
export { daemonNodeArgs, snapshotState, type SnapshotState } from './daemon/launch.ts';
export { daemonEnv } from './daemon/node-flags.ts';
export { stopDaemon, DEFAULT_STOP_TIMEOUT_MS, type StopResult } from './daemon/stop.ts';
export { CliError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type CliErrorCode } from './output/cli-error.ts';
export { VERSION } from './version.ts';
