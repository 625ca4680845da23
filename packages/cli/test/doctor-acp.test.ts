/**
 * `tinyagi doctor` on agents of the `acp` runtime (issue 48 §4): a command that is not on the
 * PATH is a failure naming the agent and the command; a found one is asked ACP `initialize` the
 * way the daemon starts it (its arguments and environment) and reported with the version its
 * `agentInfo` gives (the test kit's fake-acp, 1.0.0), else with `--version` (an agent here that
 * answers initialize without agentInfo, which ACP allows); a protocol version TinyAGI does not
 * speak is a failure; an agent that never answers is a warning once the probe gives up, and its
 * processes are gone. No daemon runs here, so the PATH checked is the shell's. The real Gemini
 * CLI's report is checked by the real-CLI suite (acp-gemini.test.ts).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, FAKE_BIN_DIR, tempDir, tempHome, waitFor } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';
import { cliContext } from '../src/context.ts';
import { probeAcpAgent } from '../src/doctor/acp-agents.ts';
import { runDoctor } from '../src/doctor/checks.ts';

afterAll(() => cleanupTemp());

/** An ACP agent whose initialize answer has no agentInfo (optional in ACP's schema); `--version` prints its version; `--proto2` answers protocol version 2. */
const PLAIN_AGENT = `#!/usr/bin/env node
if (process.argv.includes('--version')) { console.log('plain-acp 2.3.4'); process.exit(0); }
const proto = process.argv.includes('--proto2') ? 2 : 1;
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.method === 'initialize') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: proto, agentCapabilities: {}, authMethods: [] } }) + '\\n');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

it('doctor reports each acp agent: a missing command fails naming the agent and the command; a found one with the version it reports', async () => {
  const bin = tempDir('tinyagi-acp-bin-');
  writeFileSync(join(bin, 'plain-acp'), PLAIN_AGENT);
  chmodSync(join(bin, 'plain-acp'), 0o755);
  const home = tempHome({ path: [FAKE_BIN_DIR, bin] });
  const agents = {
    gone: { provider: 'acp', acp: { command: 'no-such-acp-agent-7f1', args: ['--acp'] } },
    fake: { provider: 'acp', process: 'warm', acp: { command: 'fake-acp', args: ['--acp'] } },
    plain: { provider: 'acp', acp: { command: join(bin, 'plain-acp') } },
    future: { provider: 'acp', acp: { command: 'plain-acp', args: ['--proto2'] } },
    bot: { provider: 'mock' },
  };
  writeFileSync(join(home.home, 'settings.json'), JSON.stringify({ agents }));
  const findings = await runDoctor(cliContext({}, home.env), { fix: false });
  const acp = Object.fromEntries(findings.filter((f) => f.check.startsWith('acp:')).map((f) => [f.check, f]));
  expect(Object.keys(acp).sort()).toEqual(['acp:fake', 'acp:future', 'acp:gone', 'acp:plain']);

  expect(acp['acp:gone']).toMatchObject({ status: 'fail', message: 'Agent "gone" runs the ACP agent `no-such-acp-agent-7f1`, which is not on PATH: its messages will fail.' });
  expect(acp['acp:gone']?.hint).toContain('acp.command');

  expect(acp['acp:fake']).toMatchObject({
    status: 'ok',
    message: `Agent "fake": ACP agent \`fake-acp --acp\` at ${join(FAKE_BIN_DIR, 'fake-acp')}: fake-acp 1.0.0`,
    details: { name: 'fake-acp', version: '1.0.0', protocolVersion: 1 },
  });
  expect(acp['acp:plain']).toMatchObject({ status: 'ok', details: { version: 'plain-acp 2.3.4', name: null } });
  expect(acp['acp:plain']?.message).toContain(`\`${join(bin, 'plain-acp')} --version\`: plain-acp 2.3.4`);
  expect(acp['acp:future']).toMatchObject({ status: 'fail', details: { protocolVersion: 2 } });
  expect(acp['acp:future']?.message).toContain('speaks ACP protocol version 2, TinyAGI speaks 1');
}, 60_000);

it('an ACP agent that never answers initialize: the probe gives up with a warning and its processes are gone', async () => {
  const log = join(tempDir('tinyagi-acp-log-'), 'fake.log');
  const cwd = tempDir('tinyagi-acp-cwd-');
  mkdirSync(cwd, { recursive: true });
  const env = { PATH: `${FAKE_BIN_DIR}:${process.env.PATH ?? ''}`, FAKE_ACP_HANG_INIT: '1', FAKE_LOG: log };
  const started = Date.now();
  const info = await probeAcpAgent(join(FAKE_BIN_DIR, 'fake-acp'), ['--probe-hang-marker'], env, cwd, 1_000);
  expect(info.error).toMatch(/did not answer ACP initialize within 1 s/);
  expect(readFileSync(log, 'utf8'), 'the agent was started with its arguments').toContain('--probe-hang-marker');
  expect(Date.now() - started).toBeLessThan(10_000);
  const running = (): number[] =>
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--probe-hang-marker');
        } catch {
          return false;
        }
      })
      .map(Number);
  await waitFor(() => running().length === 0 || undefined, 10_000, 'the probed agent to be gone', 50);
  expect(existsSync(cwd)).toBe(true);
}, 30_000);
