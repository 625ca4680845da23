/**
 * Several nodes on one PostgreSQL database (docs/postgresql.md#several-nodes): what does not
 * need node-postgres (placement, status, each node's sandbox). The registry and the shared settings
 * are in `@tinyagi/core/pg`.
 */
export { agentsForNode, agentsOnOtherNodes } from './placement.ts';
export { agentsWaitingForNodes, leadingNode, nodeStatuses } from './status.ts';
export { agentSandboxOnNodes, nodeSandboxView } from './sandbox.ts';
