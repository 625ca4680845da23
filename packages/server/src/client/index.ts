/**
 * `@tinyagi/server/client`: the typed API client for the CLI, the TUI, the channels and
 * TinyOffice. Imports no fastify and no server code at runtime (zod schemas only).
 */
export { createApiClient, type ApiClient, type ApiClientOptions, type ApiRouteMethods, type CallOptions, type RouteInput, type RouteOutput, type StreamEventsOptions } from './create-client.ts';
export { ApiError, isApiError, type ClientErrorCode } from './api-error.ts';
export { SseParser, type SseMessage } from './sse-parser.ts';
export type { ApiErrorCode } from '../errors.ts';
export * from '../schemas/index.ts';
