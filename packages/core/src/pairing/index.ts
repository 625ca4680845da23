export type { PairingStoreApi } from './store.ts';
