export type { PairingStoreApi } from './model.ts';
