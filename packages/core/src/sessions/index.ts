export type { AgentMessageStoreApi, AgentSessionRecord, AgentSessionStoreApi, AppendAgentMessageInput, TurnWrite } from './store.ts';
