/**
 * V8 flags the daemon runs with. The flags must be given when node starts; `tinyagi start`
 * passes them, `tinyagi run` re-executes itself once with them (bin.ts), Docker's CMD names them.
 * Flags the user set (command line or NODE_OPTIONS) win: `--max-semi-space-size=8`, or
 * `--maglev` / `--turbofan` to turn an optimising compiler back on.
 *
 * - `--max-semi-space-size=1` keeps V8's young generation at 1 MiB per semi-space instead of
 *   letting start-up grow it to 16–32 MiB: measured under B0 (200 messages, docs/profiling.md
 *   fix 15) idle RSS 108 → 93 MB, peak 126 → 100 MB, and less daemon CPU, since spawning each
 *   agent CLI forks a smaller process.
 * - `--no-maglev --no-turbofan`: no optimising compilers, only the interpreter and the Sparkplug
 *   baseline compiler. The daemon's JavaScript is glue between sockets, SQLite and child
 *   processes that rarely gets hot enough to pay for optimising it; the compilers' zones and
 *   code were most of the peak. Measured (docs/profiling.md fix 24): B0 peak RSS 93–96 → 80–82 MB,
 *   idle 81–86 → 76–79 MB, daemon CPU unchanged; in-process B5 at 1,000 in flight, the
 *   orchestrator's heaviest benchmark, used the same CPU (2.11–2.22 s against 2.15–2.25 s).
 *   (`--disable-optimizing-compilers` says the same but does not exist in every node ≥ 22.
 *   `--jitless` / `--lite-mode` save a little more but remove WebAssembly, which fetch needs.)
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--no-maglev', '--no-turbofan'] as const;

/**
 * glibc's malloc, left alone, raises its mmap threshold to the size of the largest mmapped block
 * freed (up to 32 MiB). node reads the start-up snapshot into one 6.7 MB buffer and frees it once
 * the heap is made: from then on every allocation below 6.7 MB comes from the brk heap, and what
 * the daemon frees there stays in the process. The threshold fixed at glibc's default (128 KiB)
 * turns that adjustment off: idle RSS 70.4 → 69.3 MB under B0 (docs/profiling.md, round 10).
 */
const MMAP_THRESHOLD = { name: 'MALLOC_MMAP_THRESHOLD_', value: String(128 * 1024) } as const;

/**
 * The daemon's environment: `env` plus the malloc setting above, unless the user set that knob
 * (also through GLIBC_TUNABLES). Other C libraries (musl) ignore the variable. The daemon's
 * children (agent CLIs, channel runners) inherit it; for them it is as harmless.
 */
export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (process.platform !== 'linux' || env[MMAP_THRESHOLD.name] !== undefined || env['GLIBC_TUNABLES']?.includes('malloc.mmap_threshold')) return env;
  return { ...env, [MMAP_THRESHOLD.name]: MMAP_THRESHOLD.value };
}

/** A flag's name without its value and without a `no-` prefix (`--no-maglev` and `--maglev` set the same flag). */
function flagName(arg: string): string {
  return arg
    .split('=')[0]!
    .replace(/_/g, '-')
    .replace(/^--no-/, '--');
}

/** The daemon flags this node process was not started with. */
export function missingDaemonFlags(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  // V8 spells flags with dashes or underscores alike.
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(flagName));
  return DAEMON_NODE_FLAGS.filter((flag) => !given.has(flagName(flag)));
}
