export type { AgentMessageStoreApi, AgentSessionRecord, AgentSessionStoreApi } from './store.ts';
