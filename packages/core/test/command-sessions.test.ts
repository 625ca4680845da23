/**
 * command-sessions.ts with real processes (Linux /proc): what a cancelled turn started in sessions
 * of its own is stopped with its family, and nothing else is. The real Codex case (its commands
 * lead their own sessions and outlive an interrupt or its own death) is in the real-CLI suite
 * (warm-codex.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { INVOCATION_VARIABLE, invocationMarker, stopMarkedProcesses, stopTurnCommands, turnStartTicks } from '../src/invoker/command-sessions.ts';

const started: number[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Running and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
  } catch {
    return false;
  }
}

function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/**
 * A stand-in for a CLI, shaped like codex under its npm wrapper (which leads a session of its
 * own): starts a command in a session of its own at once (an earlier turn's background command),
 * and on "go" another one (with a child of its own) and a helper in the CLI's session (an MCP
 * server); prints each pid as `<name> <pid>`.
 */
const CLI = `
const { spawn } = require('node:child_process');
const say = (name, child) => console.log(name + ' ' + child.pid);
console.log('cli ' + process.pid);
say('earlier', spawn('sleep', ['600'], { detached: true, stdio: 'ignore' }));
process.stdin.on('data', () => {
  const command = spawn('sh', ['-c', 'sleep 600 & echo grandchild $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  say('command', command);
  command.stdout.on('data', (d) => process.stdout.write(String(d)));
  say('helper', spawn('sleep', ['600'], { stdio: 'ignore' }));
});
setInterval(() => {}, 1000);
`;

it("stopTurnCommands stops the session leaders a CLI started since the turn began, with their children; its own helpers and an earlier turn's command keep running", async () => {
  const wrapper = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(CLI)}], { detached: true, stdio: 'inherit' }); setInterval(() => {}, 1000);`;
  const cli = spawn(process.execPath, ['-e', wrapper], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(cli);
  const pids = new Map<string, number>();
  createInterface({ input: cli.stdout! }).on('line', (line) => {
    const [name, pid] = line.split(' ');
    pids.set(name!, Number(pid));
    started.push(Number(pid));
  });
  const earlier = await waitFor(() => pids.get('earlier'), 10_000, 'the earlier command');
  // The turn begins after the earlier command started (a tick later at least).
  const since = await waitFor(
    () => {
      const now = turnStartTicks();
      return now !== undefined && now > startTicks(earlier) ? now : undefined;
    },
    10_000,
    'a clock tick',
  );
  cli.stdin!.write('go\n');
  const [command, grandchild, helper] = await waitFor(
    () => (pids.has('command') && pids.has('grandchild') && pids.has('helper') ? [pids.get('command')!, pids.get('grandchild')!, pids.get('helper')!] : undefined),
    10_000,
    "the turn's command",
  );
  expect([command, grandchild, helper, earlier].map(running)).toEqual([true, true, true, true]);

  expect(await stopTurnCommands(cli.pid, since)).toBeGreaterThan(0);
  expect({ command: running(command), grandchild: running(grandchild) }, "the turn's command and its child are gone when the stop returns").toEqual({ command: false, grandchild: false });
  expect({ helper: running(helper), earlier: running(earlier), cli: running(pids.get('cli')!), wrapper: running(cli.pid!) }, 'the rest is left alone').toEqual({
    helper: true,
    earlier: true,
    cli: true,
    wrapper: true,
  });
});

it('stopMarkedProcesses stops what a dead CLI left running with its marker (and the session it leads), nothing else', async () => {
  const marker = invocationMarker();
  // An orphan (its parent sh exits at once) in a session of its own, as a killed codex leaves its command.
  const orphanParent = spawn('sh', ['-c', 'sleep 600 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, [INVOCATION_VARIABLE]: marker } });
  const orphan = await new Promise<number>((resolve) => orphanParent.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  started.push(orphan);
  const other = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { ...process.env, [INVOCATION_VARIABLE]: invocationMarker() } });
  started.push(other.pid!);
  expect([running(orphan), running(other.pid!)]).toEqual([true, true]);

  expect(await stopMarkedProcesses(marker)).toBeGreaterThan(0);
  expect(running(orphan), 'the marked orphan is gone when the stop returns').toBe(false);
  expect(running(other.pid!), "another run's process is left alone").toBe(true);
  expect(await stopMarkedProcesses(invocationMarker()), 'a marker nothing carries stops nothing').toBe(0);
});
