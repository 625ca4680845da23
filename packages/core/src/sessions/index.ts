export { AgentMessageStore, AgentSessionStore, SenderDefaultsStore } from './sqlite-stores.ts';
export type {
  AgentMessageRecord,
  AgentMessageStoreApi,
  AgentSessionRecord,
  AgentSessionStoreApi,
  AppendAgentMessageInput,
  RecordTurnInput,
  SenderDefaultsStoreApi,
  SessionTurnMessage,
} from './model.ts';
