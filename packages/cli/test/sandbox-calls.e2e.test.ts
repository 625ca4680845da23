/**
 * Confinement follows the work (docs/sandbox.md, "Calls between agents"), through the daemon with
 * the real bubblewrap and the test kit's fake `claude`: a sandboxed agent's `tinyagi call` to an
 * unconfined agent (no `sandbox`, no permission mode: the CLI's bypass) whose run writes a file
 * outside the boundary. The callee runs confined: the file is not written on the host, though the
 * same agent messaged by a person still writes it (the test can tell). The callers list it in
 * `may_call` (without one, a sandboxed agent reaches only its teammates and sandboxed agents). An
 * agent whose `may_call` leaves the callee out is refused, the refusal naming the setting.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_BIN_DIR, startDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';

describe('a sandboxed agent calling an unconfined one', () => {
  let h: TestDaemon;
  beforeAll(async () => {
    h = await startDaemon({
      // bash, touch and bwrap from the system, as a user's PATH has them.
      path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
      settings: {
        agents: {
          boxed: { provider: 'claude-code', sandbox: 'on', may_call: ['tinyagi'] },
          fenced: { provider: 'claude-code', sandbox: 'on', may_call: ['boxed'] },
          tinyagi: { provider: 'claude-code' },
          // Asks a person for whatever its (empty) rules do not allow.
          careful: { provider: 'claude-code', sandbox: 'on', may_call: ['tinyagi'], permission_mode: 'ask', permissions: { rules: [], expires_s: 120 } },
        },
      },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('the called agent runs inside the boundary: its write outside does not reach the host', async () => {
    const escaped = join(h.root, 'escaped-by-call.txt');
    // The caller's own command is the same line: run inside its boundary, it cannot write there either.
    const sent = await h.cliHere(['send', '--agent', 'boxed', '--wait', `FAKE:call=tinyagi FAKE:bash=touch ${escaped}`]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(existsSync(escaped)).toBe(false);
    // The same agent messaged by a person: its workspace is held (the confined call worked there), so it runs confined too.
    const alone = join(h.root, 'written-alone.txt');
    const held = await h.cliHere(['send', '--agent', 'tinyagi', '--wait', `FAKE:bash=touch ${alone}`]);
    expect(held.code, held.stderr).toBe(0);
    expect(existsSync(alone)).toBe(false);
    // Released by the person: it runs unconfined, as its settings say, and writes the file.
    expect(await h.cliHereOk(['agent', 'sandbox', 'tinyagi', 'release'])).toContain('released');
    const direct = await h.cliHere(['send', '--agent', 'tinyagi', '--wait', `FAKE:bash=touch ${alone}`]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(existsSync(alone)).toBe(true);
  });

  it("a sandboxed ask agent's call to the bypass agent: the callee's command waits for a person (the caller's mode and rules follow the call)", async () => {
    const escaped = join(h.root, 'asked-by-call.txt');
    const sent = await h.cliHere(['send', '--agent', 'careful', `FAKE:call=tinyagi FAKE:bash=touch ${escaped}`]);
    expect(sent.code, sent.stderr).toBe(0);
    // The called agent's own request waits: alone it would run the command at once (its mode is the bypass).
    const asked = await waitFor(async () => (await h.api.listApprovals({ query: { status: 'pending', agent: 'tinyagi' } }))[0], 30_000, "the called agent's request to wait for a person");
    expect(asked.summary).toContain('touch');
    await h.cliHereOk(['deny', asked.id]);
    // The caller's own command (the same line, in its own turn) asks too: denied as well.
    const own = await waitFor(async () => (await h.api.listApprovals({ query: { status: 'pending', agent: 'careful' } }))[0], 30_000, "the caller's own request");
    await h.cliHereOk(['deny', own.id]);
    expect(existsSync(escaped)).toBe(false);
  }, 120_000);

  it('a call may_call leaves out is refused, naming the setting', async () => {
    const sent = await h.cliHere(['send', '--agent', 'fenced', '--wait', 'FAKE:call=tinyagi FAKE:reply=unused']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('CALL_NOT_ALLOWED');
    expect(sent.stdout).toContain('agents.fenced.may_call');
  });
});
