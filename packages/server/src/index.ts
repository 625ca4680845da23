/**
 * @tinyagi/server: the REST + SSE API of the daemon. `buildServer` returns the Fastify app
 * without listening; `startServer` listens (127.0.0.1:3777 by default). The contract it serves
 * and the typed client are `@tinyagi/client`.
 */
export { buildServer, type TinyServer } from './app.ts';
export { startServer, type StartServerOptions, type RunningServer } from './listen.ts';
export { DEFAULT_SERVER_LIMITS, type BuildServerOptions, type ChannelControl, type ServerLimits } from './options.ts';
export type { ServerOrchestrator, ServerOrchestratorFacets, ServerOrchestratorServices, SubmitInput, SubmitResult, SpawnInput } from './orchestrator.ts';
export type { McpCaller, McpHttpHandler } from './options.ts';
export { ERROR_REGISTRY, RequestError, isApiErrorCode, statusOf, type ApiErrorCode, type ServerErrorCode } from './errors.ts';
export { loadOrCreateApiToken, API_TOKEN_FILE, type ApiTokenSource } from './security/api-token.ts';
