/**
 * @tinyagi/test-kit: what the packages' tests share (private, never published; source-only, run
 * by vitest and node through the `tinyagi-source` condition). The chat-platform fakes are the
 * subpaths `@tinyagi/test-kit/fake-telegram` and `/fake-discord`.
 */
export { waitFor, waitOnEvents } from './wait.ts';
export { freePort } from './port.ts';
export { tempDir, cleanupTemp, removeTree, tempHome, type TempHome } from './temp.ts';
export { isGone, pidAlive, exitOf, waitForExit, descendants, killTree, privateBytes, type ExitStatus } from './process.ts';
export { FAKE_BIN_DIR, fakeCli } from './fake-cli.ts';
export { commitFile, gitRepos, QUIET_GIT_ENV, sh, type GitRepos } from './git-repos.ts';
export { CLI_BUILT, CLI_SOURCE, cliArgv, runCli, runCliOk, spawnCli, type CliBuild, type CliResult, type RunCliOptions, type SpawnedCli } from './cli.ts';
export { runCliHere, runCliHereOk, type RunCliHereOptions } from './cli-here.ts';
export { createDaemon, startDaemon, type DaemonOptions, type TestDaemon } from './daemon.ts';
export { machines, type Machine, type MachineOptions, type Machines, type MachineShOptions } from './machines.ts';
export { workerNode, type WorkerNode, type WorkerNodeOptions } from './worker-node.ts';
export { addKindModule, BINDING_KINDS_MODULE } from './kind-modules.ts';
export * from './scripted-server.ts';
export {
  lastUserText,
  occurrences,
  parseRequest,
  peerPid,
  connectedTo,
  startModelServer,
  toolOutput,
  type ModelAction,
  type ModelApi,
  type ModelCall,
  type ModelEntry,
  type ModelRequest,
  type ModelServer,
  type ModelServerOptions,
  type ModelUsage,
} from './model-server.ts';
export { startDenyProxy, type DenyProxy, type RefusedRequest } from './deny-proxy.ts';
export * from './cli-shapes.ts';
export { tmuxInstalled, tmuxServer, type TmuxServer } from './tmux.ts';
export { EVERYDAY_READ_COMMANDS } from './everyday-commands.ts';
