export type { AgentMessageStoreApi, AgentSessionRecord, AgentSessionStoreApi, AppendAgentMessageInput } from './store.ts';
