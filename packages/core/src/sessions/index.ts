export { SenderDefaultsStore, type SenderDefaultsStoreApi } from './sender-defaults.ts';
export { AgentSessionStore, type AgentSessionRecord, type SessionTurnMessage, type RecordTurnInput, type AgentSessionStoreApi } from './agent-sessions.ts';
export { AgentMessageStore, type AgentMessageRecord, type AppendAgentMessageInput, type AgentMessageStoreApi } from './agent-messages.ts';
