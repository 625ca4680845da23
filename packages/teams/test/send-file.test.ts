/**
 * `[send_file: …]` in agent output is confined to the agent's own workspace and
 * TINYAGI_HOME/files: anything else (settings.json, ~/.ssh, another agent's workspace, a symlink
 * pointing out) is held back, reported to the human and to the agent, and recorded as an event.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent } from '@tinyagi/core';
import { agentWorkspaceDir } from '@tinyagi/core/internal';
import { tempDir } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

describe('send_file confinement', () => {
  it('attaches files from the workspace and files/, holds back everything else and tells both sides', async () => {
    const outside = tempDir('tinyagi-outside-');
    const secret = join(outside, 'settings.json');
    writeFileSync(secret, '{"api_key":"sk-secret"}');
    const filesDir = join(tempDir('tinyagi-home-'), 'files');
    mkdirSync(filesDir, { recursive: true });
    const shared = join(filesDir, 'shared.txt');
    writeFileSync(shared, 'shared');

    const log = recordingInvoker(invokeAgent);
    const h = await harness(
      { agents: { writer: { provider: 'mock', mock: { reply: 'placeholder' } }, other: { provider: 'mock', mock: { reply: 'x' } } } },
      { invoke: log.invoke, filesDir, start: false },
    );
    const ws = agentWorkspaceDir(h.settings, 'writer');
    const otherWs = agentWorkspaceDir(h.settings, 'other');
    mkdirSync(ws, { recursive: true });
    mkdirSync(otherWs, { recursive: true });
    const report = join(ws, 'report.md');
    writeFileSync(report, '# report');
    const foreign = join(otherWs, 'notes.md');
    writeFileSync(foreign, 'not yours');
    const link = join(ws, 'innocent.txt');
    symlinkSync(secret, link);
    h.setSettings({
      agents: {
        writer: {
          provider: 'mock',
          mock: {
            replies: [{ match: 'again', reply: 'second turn' }],
            reply: `Done. [send_file: ${report}] [send_file: ${shared}] [send_file: ${secret}] [send_file: ${link}] [send_file: ${foreign}]`,
          },
        },
        other: { provider: 'mock', mock: { reply: 'x' } },
      },
    });
    await h.orchestrator.start();

    const first = await h.orchestrator.submit({ message: '@writer send the files', senderId: 'u1' });
    await waitForCompletion(h, first.conversationId);
    const [reply] = await h.stores.outbox.list({ conversationId: first.conversationId });
    expect(reply!.files).toEqual([report, shared]);
    expect(reply!.text).toContain('3 files @writer tried to send were not sent');
    const rejected = await eventsOf(h.stores, { conversationId: first.conversationId, types: ['guard.rejected'] });
    expect(rejected.map((e) => e.data.limitName)).toEqual(['send_file']);
    expect((rejected[0]!.data.files as Array<{ file: string }>).map((f) => f.file)).toEqual([secret, link, foreign]);

    const second = await h.orchestrator.submit({ message: '@writer again', senderId: 'u1' });
    await waitForCompletion(h, second.conversationId);
    const nextPrompt = log.calls.at(-1)!.prompt;
    expect(nextPrompt).toContain(`[send_file: ${secret}] was not sent`);
    expect(nextPrompt).toContain(`Only files inside your workspace (${ws}) or ${filesDir} can be sent.`);
  });
});
