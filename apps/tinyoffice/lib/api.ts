/**
 * The one API client of the page: same origin, no token (the HttpOnly session cookie goes with
 * every request by itself). Created lazily because pages are pre-rendered at build time.
 */
import { createApiClient, type ApiClient } from '@tinyagi/client';

let client: ApiClient | undefined;

export function api(): ApiClient {
  client ??= createApiClient({ baseUrl: window.location.origin });
  return client;
}

/** The message of any thrown value, for the UI. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
