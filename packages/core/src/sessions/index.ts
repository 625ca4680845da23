export type { AgentMessageStoreApi, AgentSessionStoreApi } from './store.ts';
