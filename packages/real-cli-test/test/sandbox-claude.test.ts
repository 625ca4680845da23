/**
 * The real Claude Code inside the boundary (issue 50, docs/sandbox.md), against the stand-in
 * model API through the daemon's model proxy (the stand-in is on the host's loopback; inside,
 * the CLI reaches the proxy's socket through sandbox-init's bridge). One agent with
 * `sandbox: "required"`: it answers, a shell tool call edits its workspace, and what the
 * stand-in asks it to print (the environment, the API token, ~/.ssh, another agent's workspace)
 * never reaches the model: neither the provider's key nor any of the files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, toolOutput } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, startRig, type Rig } from './harness.ts';
import { describeOutcome, turnsOf } from './suite.ts';

const SSH_SECRET = 'ssh-private-key-real-claude-5e1f';
const OTHER_SECRET = 'alpha-notes-real-claude-0b7d';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig(CLI_CASES.claude, {
    agents: { boxed: { sandbox: 'required' } },
    prepareHome: (home) => {
      mkdirSync(join(home, '.ssh'), { recursive: true });
      writeFileSync(join(home, '.ssh', 'id_ed25519'), `${SSH_SECRET}\n`, { mode: 0o600 });
    },
  });
  writeFileSync(join(rig.daemon.root, 'workspace', 'alpha', 'notes.txt'), `${OTHER_SECRET}\n`);
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

it('claude inside the boundary: a reply, a tool call that edits the workspace; the key, the token and the files it was asked for never reach the model', async () => {
  const status = (await rig.daemon.api.listAgents()).find((a) => a.id === 'boxed')?.sandboxStatus;
  expect(status?.state, JSON.stringify(status)).toBe('enforced');
  const token = rig.daemon.token();
  const asked = [
    'echo edited-inside > proof.txt',
    'cat proof.txt',
    'env',
    `cat ${join(rig.daemon.home, 'api-token')}`,
    `cat ${join(rig.daemon.root, '.ssh', 'id_ed25519')}`,
    `cat ${join(rig.daemon.root, 'workspace', 'alpha', 'notes.txt')}`,
    'echo "home=$HOME"',
  ].join('; ');
  rig.rule('SBX-EDIT', (request) => {
    const out = toolOutput(request);
    if (out === undefined) return { shell: asked };
    return { reply: `The tool said: ${out.split('\n').find((l) => l.startsWith('home=')) ?? '?'}` };
  });
  const o = await rig.send({ agent: 'boxed', senderId: 'sandbox', message: 'SBX-EDIT write the proof file' });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(readFileSync(join(rig.daemon.root, 'workspace', 'boxed', 'proof.txt'), 'utf8')).toBe('edited-inside\n');
  expect(o.replies.join('\n')).toContain(`home=${join(rig.daemon.home, 'agent-homes', 'boxed')}`);
  const turns = turnsOf(o.calls);
  const output = turns.map((c) => toolOutput(c.request)).find((t) => t !== undefined) ?? '';
  expect(output, 'the shell tool ran inside').toContain('edited-inside');
  // What reached the model: the tool's output and everything else the CLI sent, none of the secrets.
  const sent = JSON.stringify(turns.map((c) => c.request.entries));
  for (const secret of [PROVIDER_KEY, token, SSH_SECRET, OTHER_SECRET]) expect(sent.includes(secret), `"${secret.slice(0, 12)}…" reached the model`).toBe(false);
  // The calls themselves carried the key: the model proxy put it in, the CLI never had it.
  for (const call of turns) expect(`${call.request.headers['x-api-key'] ?? ''} ${call.request.headers.authorization ?? ''}`).toContain(PROVIDER_KEY);
});
