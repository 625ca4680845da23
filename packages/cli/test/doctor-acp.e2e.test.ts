/**
 * `tinyagi doctor --json` of the built CLI on agents of the `acp` runtime (issue 48 §4): a command
 * not on the PATH fails the run (exit code 1) with a finding naming the agent and the command; a
 * found agent is reported with the version it gives on ACP initialize (the test kit's fake-acp).
 * doctor-acp.test.ts has the cases in detail.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, FAKE_BIN_DIR, runCli, tempHome } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';

afterAll(() => cleanupTemp());

it('doctor --json: a missing acp command is a failure naming the agent and the command; a found one reports its version', async () => {
  const home = tempHome({ path: [FAKE_BIN_DIR] });
  const agents = {
    gem: { provider: 'acp', process: 'warm', acp: { command: 'gemini-not-installed', args: ['--acp'] } },
    fake: { provider: 'acp', acp: { command: 'fake-acp' } },
  };
  writeFileSync(join(home.home, 'settings.json'), JSON.stringify({ agents }));
  const result = await runCli(['doctor', '--json'], home.env, { build: 'built' });
  expect(result.code, result.stderr).toBe(1);
  const report = JSON.parse(result.stdout) as { ok: boolean; findings: Array<{ check: string; status: string; message: string; details?: Record<string, unknown> }> };
  expect(report.ok).toBe(false);
  expect(report.findings.find((f) => f.check === 'acp:gem')).toMatchObject({
    status: 'fail',
    message: 'Agent "gem" runs the ACP agent `gemini-not-installed`, which is not on PATH: its messages will fail.',
  });
  expect(report.findings.find((f) => f.check === 'acp:fake')).toMatchObject({ status: 'ok', details: { name: 'fake-acp', version: '1.0.0' } });
}, 60_000);
