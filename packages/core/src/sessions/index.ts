export type { AgentMessageStoreApi, AgentSessionStoreApi } from './model.ts';
