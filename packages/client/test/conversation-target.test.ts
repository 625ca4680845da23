import { describe, expect, it } from 'vitest';
import { conversationStatus, conversationTarget } from '../src/index.ts';

describe('conversationTarget', () => {
  it('names the team when the first message named it, the agent otherwise (also an agent working in a team)', () => {
    expect(conversationTarget({ addressed: 'team', teamId: 'dev', rootAgentId: 'coder' })).toBe('#dev');
    expect(conversationTarget({ addressed: 'agent', teamId: 'dev', rootAgentId: 'coder' })).toBe('@coder');
    expect(conversationTarget({ addressed: 'team', teamId: null, rootAgentId: 'coder' })).toBe('@coder');
  });
});

describe('conversationStatus', () => {
  it('says waiting while a guard holds the work for a decision, else the status', () => {
    expect(conversationStatus({ status: 'completed', awaitingDecision: true })).toBe('waiting');
    expect(conversationStatus({ status: 'active', awaitingDecision: true })).toBe('waiting');
    expect(conversationStatus({ status: 'completed', awaitingDecision: false })).toBe('completed');
    expect(conversationStatus({ status: 'stopped', awaitingDecision: false })).toBe('stopped');
  });
});
