export type { AgentMessageStoreApi, AgentSessionStoreApi, SenderDefaultsStoreApi } from './model.ts';
