/**
 * Sandboxed agents end to end (docs/sandbox.md) with the built daemon, real bubblewrap and the
 * test kit's fake `claude` CLI inside the boundary: the start-up self-test's result in
 * `tinyagi status`, doctor and the API; a sandboxed agent answers, and the shell commands its
 * "model" asks for cannot read the API token, the user's SSH key or another agent's workspace, nor
 * use the API with a guessed token, while `tinyagi call` works through the API's bridge; `tinyagi
 * agent add` sandboxes new CLI agents. Then a machine without user namespaces, simulated by a
 * failing `bwrap` first on the daemon's PATH: status and doctor say degraded with the reason and
 * the fix, a `required` agent's message fails once with the reason, an `on` agent runs unconfined
 * and says so, and `agent add` writes no sandbox.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_BIN_DIR, spawnCli, startDaemon, tempDir, waitFor, type TestDaemon } from '@tinyagi/test-kit';

const SSH_SECRET = 'ssh-private-key-e2e-4b1d';
const OTHER_SECRET = 'plain-agent-notes-e2e-77aa';

interface AgentView {
  id: string;
  sandboxStatus?: { setting: string; state: string; reason?: string; fix?: string; refused?: boolean };
}

function settingsFile(h: TestDaemon): { agents: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(join(h.home, 'settings.json'), 'utf8')) as { agents: Record<string, Record<string, unknown>> };
}

/** The reply of one message sent with `send --wait` (stdout), or the failure (code and stderr). */
async function send(h: TestDaemon, agent: string, text: string) {
  return h.cliHere(['send', '--agent', agent, '--wait', text]);
}

describe('a machine where the boundary holds', () => {
  let h: TestDaemon;
  beforeAll(async () => {
    h = await startDaemon({
      // bash, cat and bwrap from the system, as a user's PATH has them.
      path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
      // A key the model proxy carries: a sandboxed Claude Code has a login it can use (doctor's sandbox-login).
      env: { ANTHROPIC_API_KEY: 'sk-ant-api03-sandbox-e2e-key' },
      settings: {
        agents: {
          boxed: { provider: 'claude-code', sandbox: 'on' },
          // may_call: a sandboxed agent reaches only its teammates and sandboxed agents unless it lists others.
          strict: { provider: 'claude-code', sandbox: 'required', may_call: ['plain'] },
          plain: { provider: 'claude-code' },
        },
      },
    });
    mkdirSync(join(h.root, '.ssh'), { recursive: true });
    writeFileSync(join(h.root, '.ssh', 'id_ed25519'), `${SSH_SECRET}\n`, { mode: 0o600 });
    mkdirSync(join(h.root, 'tinyagi-workspace', 'plain'), { recursive: true });
    writeFileSync(join(h.root, 'tinyagi-workspace', 'plain', 'notes.txt'), `${OTHER_SECRET}\n`);
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('status, the API and doctor say enforced for the sandboxed agents, off for the others', async () => {
    const status = await h.cliHereOk(['status']);
    expect(status).toMatch(/Sandbox:\s+holds \(self-test: \d+ checks passed; memory capped per agent\)/);
    expect(status).toMatch(/boxed\s+on\s+enforced/);
    expect(status).toMatch(/strict\s+required\s+enforced/);
    expect(status).not.toMatch(/plain\s+/);
    const agents = (await h.api.listAgents()) as AgentView[];
    expect(Object.fromEntries(agents.map((a) => [a.id, a.sandboxStatus?.state]))).toEqual({ boxed: 'enforced', strict: 'enforced', plain: 'off' });
    expect((await h.api.status()).sandbox).toMatchObject({ ok: true, source: 'self-test', memory: { ok: true } });
    const doctor = JSON.parse(await h.cliHereOk(['doctor', '--json'])) as { findings?: Array<{ check: string; status: string }> } | Array<{ check: string; status: string }>;
    const findings = Array.isArray(doctor) ? doctor : (doctor.findings ?? []);
    expect(findings.find((f) => f.check === 'sandbox')?.status).toBe('ok');
    expect(findings.find((f) => f.check === 'sandbox:boxed')?.status).toBe('ok');
    // This machine has nsenter and coreutils' env: each start enters its agent's network.
    expect(findings.find((f) => f.check === 'sandbox:network')?.status).toBe('ok');
  });

  it('a sandboxed agent answers; its commands cannot read the token, ~/.ssh or another workspace, nor use the API with a guessed token', async () => {
    const token = h.token();
    const probe = [
      `cat ${h.home}/api-token`,
      `cat ${h.root}/.ssh/id_ed25519`,
      `cat ${h.root}/tinyagi-workspace/plain/notes.txt`,
      `node -e "fetch(process.env.TINYAGI_API_URL+'/api/agents',{headers:{authorization:'Bearer guessed-token-0000'}}).then(r=>console.log('guessed token: HTTP '+r.status),e=>console.log('api error '+e.message))"`,
      'echo "home=$HOME"',
    ].join('; ');
    const boxed = await send(h, 'boxed', `FAKE:bash=${probe}`);
    expect(boxed.code, boxed.stderr).toBe(0);
    expect(boxed.stdout).toContain('guessed token: HTTP 401');
    expect(boxed.stdout).toContain(`home=${join(h.home, 'agent-homes', 'boxed')}`);
    for (const secret of [token, SSH_SECRET, OTHER_SECRET]) expect(boxed.stdout).not.toContain(secret);
    expect(boxed.stdout.match(/No such file or directory/g)?.length).toBe(3);
    // The same commands from the unconfined agent read all three: the test can tell the difference.
    const plain = await send(h, 'plain', `FAKE:bash=${probe}`);
    for (const secret of [token, SSH_SECRET, OTHER_SECRET]) expect(plain.stdout).toContain(secret);
  });

  it('`tinyagi call` from inside the boundary reaches the API through its bridge with the run token', async () => {
    const called = await send(h, 'strict', 'FAKE:call=plain FAKE:reply=hello from plain');
    expect(called.code, called.stderr).toBe(0);
    expect(called.stdout).toContain('Sub-agent said: hello from plain');
  });

  it('`tinyagi agent add` sandboxes a new CLI agent (the self-test passed); a mock agent and existing agents are left alone', async () => {
    const added = await h.cliHereOk(['agent', 'add', 'newbie', '--provider', 'claude-code']);
    expect(added).toContain('Sandboxed (on)');
    await h.cliHereOk(['agent', 'add', 'scripted', '--provider', 'mock']);
    await h.cliHereOk(['agent', 'add', 'loose', '--provider', 'claude-code', '--sandbox', 'off']);
    const agents = settingsFile(h).agents;
    expect(agents['newbie']?.['sandbox']).toBe('on');
    expect(agents['scripted']).not.toHaveProperty('sandbox');
    expect(agents['loose']?.['sandbox']).toBe('off');
    expect(agents['plain']).not.toHaveProperty('sandbox');
  });
});

describe('a daemon with no sandboxed agent does not wait for its self-test to start', () => {
  let h: TestDaemon;
  afterAll(async () => {
    await h?.cleanup();
  });

  it('`agent add` while the self-test still runs waits for it, and sandboxes the new agent once it passed', async () => {
    // bwrap, held until the test opens the gate: the daemon's self-test cannot end before.
    const bin = tempDir('tinyagi-gated-bwrap-');
    const gate = join(bin, 'open');
    writeFileSync(join(bin, 'bwrap'), `#!/bin/sh\nwhile [ ! -e ${gate} ]; do sleep 0.02; done\nexec /usr/bin/bwrap "$@"\n`, { mode: 0o755 });
    h = await startDaemon({ path: [bin, FAKE_BIN_DIR, '/usr/bin', '/bin'], settings: { agents: { plain: { provider: 'claude-code' } } } });
    // The API answers before the self-test ended (no agent is sandboxed), and says it has not run yet.
    expect((await h.api.status()).sandbox).toBeNull();
    const added = spawnCli(['agent', 'add', 'early', '--provider', 'claude-code'], h.env, { build: 'built' });
    const exited = new Promise<number | null>((resolve) => added.child.once('exit', resolve));
    await waitFor(() => added.output().includes("Waiting for the daemon's sandbox self-test"), 20_000, 'agent add to wait for the self-test');
    expect(settingsFile(h).agents).not.toHaveProperty('early');
    writeFileSync(gate, '');
    expect(await exited, added.output()).toBe(0);
    // What the self-test found comes first: a failing one says why (with what agent add said and the daemon's log).
    expect((await h.api.status()).sandbox, `${added.output()}\n${h.logs()}`).toMatchObject({ ok: true, source: 'self-test' });
    expect(settingsFile(h).agents['early']?.['sandbox'], added.output()).toBe('on');
  });
});

describe('a machine without user namespaces (a failing bwrap first on PATH)', () => {
  let h: TestDaemon;
  beforeAll(async () => {
    const bin = tempDir('tinyagi-failing-bwrap-');
    writeFileSync(join(bin, 'bwrap'), "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n");
    chmodSync(join(bin, 'bwrap'), 0o755);
    h = await startDaemon({
      path: [bin, FAKE_BIN_DIR, '/usr/bin', '/bin'],
      settings: { agents: { strict: { provider: 'claude-code', sandbox: 'required', max_attempts: 3 }, relaxed: { provider: 'claude-code', sandbox: 'on' } } },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('status and doctor say degraded, with bwrap’s own words and the fix', async () => {
    const status = await h.cliHereOk(['status']);
    expect(status).toContain('Sandbox');
    expect(status).toContain('not enforced here');
    expect(status).toContain('setting up uid map: Permission denied');
    expect(status).toMatch(/strict\s+required\s+degraded \(.*it does not run \(sandbox "required"\)/);
    expect(status).toMatch(/relaxed\s+on\s+degraded \(.*it runs unconfined/);
    const agents = (await h.api.listAgents()) as AgentView[];
    expect(agents.find((a) => a.id === 'strict')?.sandboxStatus).toMatchObject({ state: 'degraded', refused: true });
    const doctor = await h.cliHere(['doctor']);
    expect(doctor.stdout).toContain('the boundary is not enforced here');
    expect(doctor.stdout).toMatch(/user namespaces/);
  });

  it('a required agent’s message fails once, not retried, with the reason; an on agent answers unconfined', async () => {
    const refused = await send(h, 'strict', 'FAKE:reply=should never run');
    expect(refused.code).toBe(1);
    // The reason is in the daemon's reply (stdout), said once; the error points at it.
    expect(refused.stdout).toContain('sandbox "required"');
    expect(refused.stdout).toContain('setting up uid map: Permission denied');
    expect(`${refused.stdout}${refused.stderr}`).not.toMatch(/retrying/);
    const dead = await h.cliHereOk(['queue', 'dead']);
    expect(dead).toMatch(/1\/3 .*sandbox "required"/);

    const relaxed = await send(h, 'relaxed', 'FAKE:reply=unconfined but said so');
    expect(relaxed.code, relaxed.stderr).toBe(0);
    expect(relaxed.stdout).toContain('unconfined but said so');
  });

  it('`tinyagi agent add` writes no sandbox when the self-test failed', async () => {
    await h.cliHereOk(['agent', 'add', 'newbie', '--provider', 'claude-code']);
    expect(settingsFile(h).agents['newbie']).not.toHaveProperty('sandbox');
  });
});
