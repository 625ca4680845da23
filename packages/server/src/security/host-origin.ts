/**
 * Host and Origin checks.
 * - Host (DNS-rebinding defence): a page on evil.example that resolves to 127.0.0.1 still sends
 *   `Host: evil.example`, so only loopback names (with the server's port) and configured hosts
 *   are accepted.
 * - Origin: browsers send it on cross-origin requests and on same-origin POST/PUT/PATCH/DELETE;
 *   only configured origins (the local TinyOffice by default) and the daemon's own loopback
 *   origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`, `http://[::1]:<port>`, so the
 *   /api/docs page can call the API) are accepted. Requests without Origin (CLI, channels) pass.
 */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface HostPolicy {
  /** The port the server listens on; undefined (not listening, e.g. inject) accepts any port. */
  port: number | undefined;
  /** settings.server.allowed_hosts: `name` (any port) or `name:port`. */
  allowedHosts: readonly string[];
}

function splitHost(host: string): { name: string; port: string | undefined } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return undefined;
  return { name: match[1]!.toLowerCase(), port: match[2] };
}

export function isAllowedHost(header: string | undefined, policy: HostPolicy): boolean {
  if (!header) return false;
  const host = splitHost(header);
  if (!host) return false;
  if (LOOPBACK_NAMES.has(host.name)) {
    return policy.port === undefined || host.port === undefined || Number(host.port) === policy.port;
  }
  return policy.allowedHosts.some((entry) => {
    const allowed = splitHost(entry);
    if (!allowed || allowed.name !== host.name) return false;
    if (allowed.port !== undefined) return allowed.port === (host.port ?? '80');
    return true;
  });
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/** `ownPort`: the port the server listens on (undefined when not listening: no own origin). */
export function isAllowedOrigin(origin: string, allowedOrigins: readonly string[], ownPort?: number): boolean {
  const normalized = normalizeOrigin(origin);
  if (ownPort !== undefined && [...LOOPBACK_NAMES].some((name) => normalized === `http://${name}:${ownPort}`)) return true;
  return allowedOrigins.some((entry) => normalizeOrigin(entry) === normalized);
}
