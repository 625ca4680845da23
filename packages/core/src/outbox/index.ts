export { OutboxStore, CLIENT_CHANNELS, type OutboxInput, type OutboxRow, type OutboxStatus, type OutboxRecipient, type OutboxListQuery, type OutboxStoreOptions } from './store.ts';
