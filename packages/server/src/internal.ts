/**
 * @tinyagi/server/internal: what the tinyagi daemon (packages/cli) and the tests need beyond the
 * public root — minting the scoped tokens it hands to agents' runs and channel processes and the
 * browser tickets. No stability promise to library users.
 */
export { mintRunToken, isRunToken } from './security/run-token.ts';
export { mintChannelToken, isChannelToken, CHANNEL_NAME_PATTERN } from './security/channel-token.ts';
export { createTicket, verifyTicket, TICKET_TTL_MS } from './security/tickets.ts';
export { BUILTIN_FORGE_KINDS, registerBuiltinForgeKinds } from './forge.ts';
/** The registries a binding's check kinds and forges are read from: a TINYAGI_HOME kind module's are registered there (the CLI's kinds.ts). */
export { checkKinds, forgeKinds } from '@tinyagi/git-tasks';
