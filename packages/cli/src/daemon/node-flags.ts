/**
 * V8 flags the daemon runs with. `--max-semi-space-size=1` keeps V8's young generation at 1 MiB
 * per semi-space instead of letting start-up grow it to 16–32 MiB: measured under B0 (200
 * messages, docs/profiling.md) idle RSS 108 → 93 MB, peak 126 → 100 MB, and less daemon CPU,
 * since spawning each agent CLI forks a smaller process. The flags must be given when node
 * starts; `tinyagi start` passes them, `tinyagi run` re-executes itself once with them (bin.ts).
 * Flags the user set (command line or NODE_OPTIONS) win.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1'] as const;

/** The daemon flags this node process was not started with. */
export function missingDaemonFlags(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  // V8 spells flags with dashes or underscores alike.
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.split('=')[0]!.replace(/_/g, '-'));
  return DAEMON_NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
}
