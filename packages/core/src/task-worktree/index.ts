export { BRANCH_MARKER, IDENTITY_MARKER, SANDBOX_LOCK_REASON, SETUP_MARKER, TASK_MARKER } from '@tinyagi/sandbox';
export { type GitIdentity, identityEnvOf, usableIdentityPart } from './identity-env.ts';
