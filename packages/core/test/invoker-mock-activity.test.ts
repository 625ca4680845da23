/**
 * The mock provider's scripted live activity: tool calls with id, kind and title, their results,
 * plans and per-call usage, emitted in script order as a CLI streams them (surface tests use it).
 */
import { describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeProgress, type MockScriptSpec } from '../src/invoker/index.ts';
import { MockScriptSchema } from '@tinyagi/client/contract';

const script: MockScriptSpec = {
  replies: [
    {
      match: 'fix',
      reply: 'fixed',
      progress: [
        {
          plan: [
            { text: 'read', status: 'in_progress' },
            { text: 'edit', status: 'pending' },
          ],
        },
        { tool: 'Bash', id: 'c1', kind: 'command', title: 'npm test', input: { command: 'npm test' } },
        { usage: { input_tokens: 120, output_tokens: 8, cache_read_tokens: 100, model: 'mock-1' } },
        { tool_result: 'Bash', id: 'c1', ok: false, output: '1 failed' },
        { tool: 'Grep' },
        { tool_result: 'Grep' },
        { tool_result: '', id: 'c9', ok: false },
      ],
    },
  ],
};

describe('mock runtime activity', () => {
  it('emits tool calls with ids, results, plans and usage in script order', async () => {
    const events: InvokeProgress[] = [];
    const result = await invokeAgent({ agentId: 'demo', target: { runtime: 'mock', provider: 'mock', mock: script }, prompt: 'fix it', systemPrompt: '', cwd: '/tmp', onEvent: (e) => events.push(e) });
    expect(result.text).toBe('fixed');
    expect(events.filter((e) => e.type !== 'text')).toEqual([
      {
        type: 'plan',
        steps: [
          { text: 'read', status: 'in_progress' },
          { text: 'edit', status: 'pending' },
        ],
      },
      { type: 'tool', name: 'Bash', id: 'c1', kind: 'command', title: 'npm test', input: { command: 'npm test' } },
      { type: 'usage', inputTokens: 120, outputTokens: 8, cacheReadTokens: 100, model: 'mock-1' },
      { type: 'tool_result', name: 'Bash', id: 'c1', ok: false, output: '1 failed' },
      { type: 'tool', name: 'Grep' },
      { type: 'tool_result', name: 'Grep', ok: true },
      { type: 'tool_result', id: 'c9', ok: false },
    ]);
  });

  it('the settings schema takes these steps and refuses a bad plan status', () => {
    expect(MockScriptSchema.safeParse(script).success).toBe(true);
    const bad = MockScriptSchema.safeParse({ replies: [{ match: 'x', progress: [{ plan: [{ text: 'a', status: 'later' }] }] }] });
    expect(bad.success).toBe(false);
  });
});
