/**
 * Whether this machine can enforce the boundary (docs/sandbox.md, "A status that tells the
 * truth"), and if not, why and what to change: the full answer is the self-test's (self-test.ts),
 * the short one `quickCheck`'s (it starts an empty sandbox). Nothing is kept here: each node's
 * sandbox host (host.ts) holds the check its boundaries follow.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Why the boundary is not enforced, and what would fix it (the sysctl, the package). */
export interface BoundaryProblem {
  reason: string;
  fix: string;
}

export interface MachineCheck {
  /** The boundary works here: bwrap started a sandbox with every part (the self-test's checks passed, when one ran). */
  ok: boolean;
  /** When not ok. */
  problem?: BoundaryProblem;
  /** The bwrap executable used (absolute). */
  bwrap?: string;
  /** The memory cap: made per agent, or why not (`sandbox.memory_mb` is then not applied). */
  memory: { ok: true } | { ok: false; reason: string };
  /** What the self-test checked, one line each (empty for the quick check). */
  checks: SelfTestCheck[];
  /** `self-test` (the daemon's start) or `quick` (bwrap started, nothing else checked). */
  source: 'self-test' | 'quick';
  checkedAt: number;
}

export interface SelfTestCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Where distributions install bwrap: found there when the daemon's PATH is short (a service manager's). */
const BWRAP_LOCATIONS = ['/usr/bin', '/usr/local/bin', '/bin'];

/** `bwrap` on PATH, else in the usual places (absolute), or undefined. */
export function findBwrap(env: NodeJS.ProcessEnv = process.env, locations: readonly string[] = BWRAP_LOCATIONS): string | undefined {
  for (const dir of [...(env.PATH ?? '').split(delimiter), ...locations]) {
    if (dir === '') continue;
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The arguments of the smallest sandbox with every namespace the boundary uses. */
export const EMPTY_SANDBOX_ARGS = [
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--tmpfs',
  '/tmp',
  '--unshare-all',
  '--unshare-user',
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--die-with-parent',
  '--',
  // By its path: the daemon's PATH may be short (a service manager's, a test's).
  '/bin/sh',
  '-c',
  'exit 0',
];

/** Starts an empty sandbox: ok, or the problem (reason and fix) from bwrap's own words and the machine's settings. */
export function quickCheck(env: NodeJS.ProcessEnv = process.env, locations: readonly string[] = BWRAP_LOCATIONS): MachineCheck {
  const base = { memory: { ok: false as const, reason: 'not checked (no self-test ran)' }, checks: [], source: 'quick' as const, checkedAt: Date.now() };
  const platform = platformProblem();
  if (platform) return { ...base, ok: false, problem: platform };
  const bwrap = findBwrap(env, locations);
  if (!bwrap) return { ...base, ok: false, problem: bwrapMissing() };
  const run = spawnSync(bwrap, EMPTY_SANDBOX_ARGS, { encoding: 'utf8', timeout: 10_000, env: { PATH: env.PATH ?? '' } });
  if (run.status === 0) return { ...base, ok: true, bwrap };
  return { ...base, ok: false, bwrap, problem: bwrapProblem(bwrap, run.error ? String(run.error.message) : (run.stderr ?? '').trim(), run.status) };
}

export function platformProblem(): BoundaryProblem | undefined {
  if (process.platform === 'linux') return undefined;
  return {
    reason: `the boundary uses Linux namespaces (bubblewrap); this is ${process.platform}`,
    fix: 'run the daemon on Linux (a VM or a Linux host) for sandboxed agents, or set their sandbox to "off"',
  };
}

export function bwrapMissing(): BoundaryProblem {
  return {
    reason: "bwrap (bubblewrap) is not installed: not found on the daemon's PATH, nor in /usr/bin, /usr/local/bin or /bin",
    fix: 'install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`) and restart the daemon',
  };
}

/** A sysctl's value, or undefined where it does not exist on this kernel. */
function sysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * What blocks user namespaces on this machine, named as the setting to change: Debian's
 * `kernel.unprivileged_userns_clone`, Ubuntu's AppArmor restriction, `user.max_user_namespaces`,
 * or a container that does not allow them.
 */
export function userNamespaceFix(): string {
  if (sysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    return 'user namespaces are off: `sudo sysctl -w kernel.unprivileged_userns_clone=1` (and put kernel.unprivileged_userns_clone=1 in /etc/sysctl.d/ to keep it)';
  }
  if (sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces: give bwrap a profile that allows them (Ubuntu 24.04+: `sudo apt-get install apparmor-profiles` and load /etc/apparmor.d/bwrap-userns-restrict), or `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`';
  }
  if (sysctl('/proc/sys/user/max_user_namespaces') === '0') {
    return 'user namespaces are limited to 0: `sudo sysctl -w user.max_user_namespaces=15000` (and in /etc/sysctl.d/ to keep it)';
  }
  return 'this looks like a container that does not allow user namespaces: run it with them allowed (Docker: `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`, or `--privileged`), or run the daemon on the host';
}

/** bwrap ran and failed: its message, and the fix the machine's settings point to. */
export function bwrapProblem(bwrap: string, stderr: string, status: number | null): BoundaryProblem {
  const said = stderr.split('\n').filter(Boolean).slice(-3).join(' ').slice(0, 500) || `exit code ${status ?? '?'}`;
  const namespaces = /namespace|uid map|setting up uid|Operation not permitted|Permission denied|No permissions/i.test(said);
  return {
    reason: `${bwrap} cannot start a sandbox: ${said}`,
    fix: namespaces ? userNamespaceFix() : `check that ${bwrap} is Debian's bubblewrap (0.4 or newer) and runs: \`bwrap --ro-bind / / --unshare-all -- /bin/sh -c 'exit 0'\``,
  };
}
