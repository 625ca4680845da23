/**
 * `tinyagi worker` started exactly as docs/postgresql.md ("Running a worker") says, and each node's
 * sandbox status its own on every surface (issue 86). The API node is the built daemon on this
 * machine, where bubblewrap works; the worker runs on a machine of its own without bubblewrap
 * (test-kit's machines(): every bwrap the sandbox would find, on PATH or in /usr/bin, /usr/local/bin
 * and /bin, is covered by /dev/null there), from an empty home with only the documented variables.
 *
 * The worker registers and publishes its self-test; an agent placed on it answers; GET /api/agents,
 * `tinyagi status`, `tinyagi agent sandbox` and doctor give each agent its own node's status
 * (enforced on the API node, degraded on the worker, an agent on no node with where it differs);
 * the API node wakes only its own agents' heartbeats; once the worker stops, its agents' status is
 * unknown, never the API node's word. Waits on states, no sleeps.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemon, machines, waitFor, waitForExit, type SpawnedCli } from '@tinyagi/test-kit';
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import { createTestDatabase } from '@tinyagi/test-kit/stores';

const db = await pgTestDatabase();
const TOKEN = `tk_${'5e6f7a8b'.repeat(6)}`;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

interface Finding {
  check: string;
  status: string;
  message: string;
}

describe.skipIf(db.skip !== undefined)('a worker started as docs/postgresql.md says (PostgreSQL)', () => {
  it('registers from an empty home and the documented variables, its agent answers, and every surface shows each agent’s sandbox as its own node sees it', { timeout: 150_000 }, async () => {
    const database = await createTestDatabase('worker_start');
    cleanups.push(() => database.drop());
    const boxed = (node?: string) => ({ provider: 'claude-code', sandbox: 'on', ...(node ? { node } : {}) });
    const api = await createDaemon({
      apiToken: TOKEN,
      // bwrap from the system, as a user's PATH has it.
      path: ['/usr/bin', '/bin'],
      env: { TINYAGI_DATABASE_URL: database.url },
      settings: ({ root }) => ({
        node: { name: 'api' },
        workspace: { path: join(root, 'workspace'), name: 'workspace' },
        agents: { echo: { provider: 'mock', node: 'wk1', mock: { reply: 'Hello from the worker.' } }, boxed: boxed('api'), 'boxed-wk': boxed('wk1'), 'boxed-any': boxed() },
      }),
    });
    cleanups.push(() => api.cleanup());
    await api.start();

    const lab = machines();
    cleanups.push(() => lab.cleanup());
    const box = await lab.addMachine('wk', { bwrap: false });
    const home = join(lab.dir, 'home');
    mkdirSync(box.disk(home), { recursive: true });
    // docs/postgresql.md, "Running a worker": these variables, and no settings.json in its home.
    const env = {
      HOME: home,
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      TINYAGI_HOME: join(home, '.tinyagi-worker'),
      TINYAGI_DATABASE_URL: database.url,
      TINYAGI_API_URL: api.url,
      TINYAGI_API_TOKEN: TOKEN,
    };
    const worker: SpawnedCli = box.spawnCli(['worker', '--name', 'wk1'], env);
    cleanups.push(async () => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) await box.killAll();
    });
    const withOutput = (err: Error): never => {
      throw new Error(`${err.message}\n--- worker ---\n${worker.output()}\n${api.logs()}`);
    };

    // Registered, with its own self-test published.
    const status = await waitFor(
      async () => {
        if (worker.child.exitCode !== null) throw new Error(`the worker exited (${worker.child.exitCode})`);
        const s = await api.api.status();
        return s.nodes.find((n) => n.name === 'wk1' && n.state === 'live')?.sandbox && s.nodes.find((n) => n.self)?.sandbox ? s : undefined;
      },
      60_000,
      'the worker registered with its sandbox published',
    ).catch(withOutput);
    expect(status.nodes.map((n) => [n.name, n.role, n.self, n.sandbox?.ok])).toEqual(
      expect.arrayContaining([
        ['api', 'api', true, true],
        ['wk1', 'worker', false, false],
      ]),
    );
    expect(status.nodes.find((n) => n.name === 'wk1')?.sandbox?.reason).toContain('bwrap (bubblewrap) is not installed');

    // Its agent answers, run on the worker.
    const sent = await api.api.sendMessage({ body: { message: 'hello', agent: 'echo' } });
    const answered = await waitFor(
      async () => {
        const d = await api.api.getMessage({ params: { id: sent.messageId } });
        if (d.message.status === 'dead') throw new Error(`the message went dead: ${d.message.lastError}`);
        return d.message.status === 'completed' ? d : undefined;
      },
      30_000,
      "the worker's agent's answer",
    ).catch(withOutput);
    expect(answered.replies.map((r) => r.text.split('\n')[0])).toEqual(['Hello from the worker.']);
    expect(answered.run?.node).toBe('wk1');

    // The API: each agent's status from its own node.
    const agents = Object.fromEntries((await api.api.listAgents()).map((a) => [a.id, a.sandboxStatus]));
    expect(agents['boxed']).toMatchObject({ setting: 'on', state: 'enforced', node: 'api' });
    expect(agents['boxed-wk']).toMatchObject({ setting: 'on', state: 'degraded', node: 'wk1', reason: expect.stringContaining('bwrap (bubblewrap) is not installed') });
    expect(agents['boxed-any']).toMatchObject({ state: 'enforced', node: 'api', elsewhere: [{ node: 'wk1', state: 'degraded' }] });

    // The CLI's surfaces say the same, with the node.
    const shown = await api.cliHereOk(['status']);
    expect(shown).toMatch(/api \(this one\)\s+api\s+live .*; sandbox holds/);
    expect(shown).toMatch(/wk1\s+worker\s+live .*; sandbox not enforced: bwrap \(bubblewrap\) is not installed/);
    expect(shown).toMatch(/boxed\s+on\s+enforced on api/);
    expect(shown).toMatch(/boxed-wk\s+on\s+degraded on wk1 \(bwrap \(bubblewrap\) is not installed/);
    expect(shown).toMatch(/boxed-any\s+on\s+enforced on api .*· degraded on wk1/);
    expect(await api.cliHereOk(['agent', 'sandbox', 'boxed-wk'])).toMatch(/^boxed-wk: sandbox on: degraded on wk1 \(bwrap \(bubblewrap\) is not installed/);
    const doctor = await api.cliHere(['doctor', '--json']);
    const parsed = JSON.parse(doctor.stdout) as { findings?: Finding[] } | Finding[];
    const findings = Array.isArray(parsed) ? parsed : (parsed.findings ?? []);
    // This machine's self-test speaks for the agent on this node only; the worker's agent is judged by the worker's check.
    expect(findings.find((f) => f.check === 'sandbox:boxed')).toMatchObject({ status: 'ok' });
    expect(findings.find((f) => f.check === 'sandbox:boxed-wk')).toMatchObject({ status: 'warn', message: expect.stringContaining('degraded on node wk1') });

    // Heartbeats: the API node wakes its own agents and those on no node (it leads), not the worker's.
    const beats = (await api.api.status()).heartbeat as Array<{ agentId: string }>;
    expect(beats.map((b) => b.agentId).sort()).toEqual(['boxed', 'boxed-any']);

    // The worker stops: its agents' boundary is not known, and no surface takes the API node's word for it.
    worker.child.kill('SIGTERM');
    expect((await waitForExit(worker.child, 30_000)).code).toBe(0);
    const after = Object.fromEntries((await api.api.listAgents()).map((a) => [a.id, a.sandboxStatus]));
    expect(after['boxed-wk']).toMatchObject({ state: 'unknown', node: 'wk1', reason: expect.stringMatching(/^node wk1 is stopped/) });
    expect(after['boxed-any']).toEqual({ setting: 'on', state: 'enforced', memoryMb: expect.any(Number), node: 'api' });
    expect(await api.cliHereOk(['agent', 'sandbox', 'boxed-wk'])).toMatch(/^boxed-wk: sandbox on: unknown on wk1 \(node wk1 is stopped/);
  });
});
