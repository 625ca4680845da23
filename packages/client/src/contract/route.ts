/**
 * The route contract: one declaration per route (method, path, zod schemas, auth), shared by the
 * server (validation, serialization, OpenAPI) and the typed client. Contract files import zod
 * only, never fastify or core at runtime, so the client stays small and browser-safe.
 */
import type { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - `token`: the API token (default).
 * - `run`: the API token, or a run-scoped token of the conversation the route addresses.
 * - `channel`: the API token, or a channel-scoped token of the channel the route addresses.
 * - `none`: no credentials (health only).
 */
export type RouteAuth = 'token' | 'run' | 'channel' | 'none';

export interface RouteDef {
  method: HttpMethod;
  /** Fastify path syntax (`/api/agents/:id`). */
  path: string;
  summary: string;
  tag: string;
  /** Success status (200 unless given). */
  status?: 200 | 201 | 202;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  /** `text`: the success body is text (markdown), not JSON. */
  produces?: 'json' | 'text';
  auth?: RouteAuth;
  /** Rate limited per credential (see security/guard.ts installRateLimits). */
  rateLimit?: RateLimitClass;
  /**
   * An old name (and path) of a route that was renamed, still served so clients written against
   * it keep working; the OpenAPI document marks it deprecated and docs/api.md names its successor.
   */
  deprecated?: true;
}

export type RateLimitClass = 'message' | 'pairing';

export function route<const D extends RouteDef>(def: D): D {
  return def;
}
