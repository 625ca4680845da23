/**
 * Several nodes on one PostgreSQL database (docs/operations.md, "Several nodes"): what does not
 * need node-postgres. The registry and the shared settings are in `@tinyagi/core/pg`.
 */
export { agentsForNode, agentsOnOtherNodes, agentsWithoutNode } from './placement.ts';
export { LOCAL_SETTINGS_KEYS, isLocalSettingsKey, splitSettings, joinSettings, type LocalSettingsKey } from './settings-split.ts';
