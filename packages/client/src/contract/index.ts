/**
 * `@tinyagi/client/contract`: the zod schemas of every route, every event and every error code,
 * shared by the server, the client, the CLI and the event producers in core and teams. Zod only,
 * no I/O: the bottom of the package graph (core may import it and no other sibling).
 */
export { route, type RouteDef, type RouteAuth, type HttpMethod, type RateLimitClass } from './route.ts';
export { apiContract, type ApiContract, type RouteName } from './contract.ts';
export * from './common.ts';
export * from './records.ts';
export * from './system.ts';
export * from './messages.ts';
export * from './queue.ts';
export * from './outbox.ts';
export * from './conversations.ts';
export * from './agents.ts';
export * from './teams.ts';
export * from './providers.ts';
export * from './settings.ts';
export * from './settings-schema.ts';
export * from './pairing.ts';
export * from './schedules.ts';
export * from './workflows.ts';
export * from './tasks.ts';
export * from './git-tasks.ts';
export * from './diff-text.ts';
export * from './usage.ts';
export * from './kinds.ts';
export * from './mcp.ts';
export * from './approvals.ts';
export * from './run-tools.ts';
export * from './memory.ts';
export * from './quotas.ts';
export * from './sessions.ts';
export * from './sandbox.ts';
export * from './events.ts';
export * from './event-map.ts';
export * from './errors.ts';
