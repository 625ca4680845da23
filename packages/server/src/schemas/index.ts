/** The zod schemas of every request and response, shared by the server, the client and the CLI. */
export { route, type RouteDef, type RouteAuth, type HttpMethod } from './route.ts';
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
export * from './pairing.ts';
export * from './schedules.ts';
export * from './tasks.ts';
export * from './usage.ts';
export * from './events.ts';
