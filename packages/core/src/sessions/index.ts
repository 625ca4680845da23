export { SenderDefaultsStore } from './sender-defaults.ts';
export { AgentSessionStore, type AgentSessionRecord, type SessionTurnMessage, type RecordTurnInput } from './agent-sessions.ts';
export { AgentMessageStore, type AgentMessageRecord, type AppendAgentMessageInput } from './agent-messages.ts';
