/**
 * Several nodes on one PostgreSQL database (docs/postgresql.md#several-nodes): what does not
 * need node-postgres. The registry and the shared settings are in `@tinyagi/core/pg`.
 */
export { agentsForNode, agentsOnOtherNodes } from './placement.ts';
export { agentsWaitingForNodes, nodesForStatus } from './status.ts';
