export {
  generatePairingCode,
  normalizePairingCode,
  PAIRING_CODE_ALPHABET,
  PAIRING_CODE_LENGTH,
  type PendingPairing,
  type ApprovedPairing,
  type PairingRequestResult,
  type PairingStoreOptions,
  type PairingStoreApi,
} from './model.ts';
export { PairingStore } from './sqlite-store.ts';
