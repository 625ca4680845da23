/**
 * Whom a conversation was addressed to, written the way people address it: `#dev` when the first
 * message named the team, `@coder` when it named the agent (also when that agent works in a
 * team, which only gives it context). One wording for the CLI, TinyOffice and the chat channels.
 */
export function conversationTarget(c: { addressed: 'agent' | 'team'; teamId: string | null; rootAgentId: string }): string {
  return c.addressed === 'team' && c.teamId !== null ? `#${c.teamId}` : `@${c.rootAgentId}`;
}

/**
 * A conversation's status as people read it: `waiting` while a guard holds its work for their
 * decision (its runs may all have `completed`), else its status. The same word in the CLI's
 * tables and TinyOffice's pills.
 */
export function conversationStatus(c: { status: string; awaitingDecision: boolean }): string {
  return c.awaitingDecision ? 'waiting' : c.status;
}
