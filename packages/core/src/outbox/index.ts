export {
  OutboxStore,
  type OutboxInput,
  type OutboxRow,
  type OutboxStatus,
  type OutboxRecipient,
  type OutboxListQuery,
  type OutboxStoreOptions,
  type OutboxStoreApi,
} from './store.ts';
