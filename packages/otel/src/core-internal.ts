/**
 * What trace export takes from `@tinyagi/core/internal` (docs/architecture.md, "Public roots and
 * internal subpaths"): the runtime an old or custom runtime name stands for, so a span names the
 * runtime's vendor.
 * Every other file of the package imports these names from here (biome.jsonc), so what the
 * package depends on beyond core's public root is read in one place, each group with the reason
 * the root does not carry it; a name core stops giving fails here. Only re-exports: the CLI's
 * bundle looks through this file to the module that defines each name (flatten-barrels.mjs).
 */

// config/: an agent's old runtime names (`anthropic`, a custom provider's `claude`) read as the runtime they stand for
export { customRuntimeName, providerRuntime } from '@tinyagi/core/internal';
