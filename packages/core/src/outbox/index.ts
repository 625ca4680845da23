export type { OutboxInput, OutboxStoreApi } from './model.ts';
