/**
 * Host and Origin checks.
 * - Host (DNS-rebinding defence): a page on evil.example that resolves to 127.0.0.1 still sends
 *   `Host: evil.example`, so only loopback names (with the server's port) and configured hosts
 *   are accepted.
 * - Origin: browsers send it on cross-origin requests; only configured origins are accepted
 *   (the local TinyOffice by default). Requests without Origin (CLI, channels) pass.
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

export function isAllowedOrigin(origin: string, allowedOrigins: readonly string[]): boolean {
  const normalized = origin.trim().replace(/\/+$/, '').toLowerCase();
  return allowedOrigins.some((entry) => entry.trim().replace(/\/+$/, '').toLowerCase() === normalized);
}
