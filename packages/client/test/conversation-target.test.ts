import { describe, expect, it } from 'vitest';
import { conversationTarget } from '../src/index.ts';

describe('conversationTarget', () => {
  it('names the team when the first message named it, the agent otherwise (also an agent working in a team)', () => {
    expect(conversationTarget({ addressed: 'team', teamId: 'dev', rootAgentId: 'coder' })).toBe('#dev');
    expect(conversationTarget({ addressed: 'agent', teamId: 'dev', rootAgentId: 'coder' })).toBe('@coder');
    expect(conversationTarget({ addressed: 'team', teamId: null, rootAgentId: 'coder' })).toBe('@coder');
  });
});
