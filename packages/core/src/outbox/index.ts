export type { OutboxInput, OutboxRow, OutboxStatus, OutboxRecipient, OutboxListQuery, OutboxStoreOptions, OutboxStoreApi } from './model.ts';
export { OutboxStore } from './sqlite-store.ts';
