/**
 * Every agent CLI is spawned `detached`, so it leads its own process group and a kill reaches
 * the shells, test runners and servers it started too. Groups still alive when this process
 * exits are killed on the way out: a detached child would otherwise outlive a crashed daemon and
 * race the retry of its own message (two processes for one agent).
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Sends `signal` to the whole group led by `pid`; false when the group is already gone (ESRCH). */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function trackProcessGroup(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) signalProcessGroup(group, 'SIGKILL');
    });
  }
}

export function untrackProcessGroup(pid: number): void {
  liveGroups.delete(pid);
}
