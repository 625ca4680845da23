/**
 * Who asked for a cancel or a steering command, in words a person reads in the run tree, the
 * transcript and a conversation's end reason: TinyOffice (a login), a channel (its
 * `/stop`), or a token client, which may name itself with the `x-tinyagi-client` header (the
 * CLI, the dashboard); otherwise "the API".
 */
import type { FastifyRequest } from 'fastify';
import { RequestError } from './errors.ts';
import type { AuthInfo } from './security/guard.ts';

export const CLIENT_HEADER = 'x-tinyagi-client';

/** A client's own name: short, printable, no markup (it is shown as it is). */
const CLIENT_NAME = /^[\w .()@/-]{1,40}$/;

export function requestedBy(auth: AuthInfo, request: FastifyRequest): string {
  switch (auth.kind) {
    case 'login':
      return 'TinyOffice';
    case 'channel':
      return `the ${auth.channel} channel`;
    case 'run':
      return `run ${auth.runId}`;
    default: {
      const named = request.headers[CLIENT_HEADER];
      return typeof named === 'string' && CLIENT_NAME.test(named.trim()) ? named.trim() : 'the API';
    }
  }
}

/**
 * Names a client may not give itself as an approval's decider: TinyOffice's and the ones the
 * daemon records itself (a rule, the mode, an expiry, a restart, a cancel, the task flow, the forge).
 */
const RESERVED_DECIDERS = new Set(['tinyoffice', 'expiry', 'restart', 'cancelled', 'rule', 'mode', 'tasks', 'github']);

/** A client's own label for the record: its name's shape (no `:`, so never `<channel>:<sender>`) and not a reserved name. */
function isOwnLabel(name: string): boolean {
  return CLIENT_NAME.test(name) && !RESERVED_DECIDERS.has(name.toLowerCase().replace(/\s+/g, ''));
}

/**
 * Who answered an approval request, recorded as its `decidedBy` (docs/approvals.md, "Who
 * answered"): the authenticated caller, never a name it merely supplies. A channel token answers
 * for the paired sender it names (`<channel>:<sender>`, checked by the route before this); a
 * TinyOffice login is `tinyoffice`; the API token is `api`, or the client's own label (`by`, else
 * its `x-tinyagi-client` header) when that cannot be mistaken for a channel's sender, TinyOffice
 * or the daemon: such a `by` is refused, such a header is ignored.
 */
export function decidedBy(auth: AuthInfo, request: FastifyRequest, by: string | undefined): string {
  if (auth.kind === 'channel' && by !== undefined) return by;
  if (auth.kind === 'login') return 'tinyoffice';
  if (auth.kind !== 'token') return requestedBy(auth, request);
  if (by !== undefined) {
    const label = by.trim();
    if (!isOwnLabel(label)) {
      throw new RequestError(
        'SCOPE_FORBIDDEN',
        `The API token answers as itself: "by": "${by}" could be taken for a channel's sender, TinyOffice or the daemon. Send your client's own label (letters, digits, spaces, . _ ( ) @ / -; e.g. "cli") or leave "by" out to be recorded as "api".`,
      );
    }
    return label;
  }
  const named = request.headers[CLIENT_HEADER];
  return typeof named === 'string' && isOwnLabel(named.trim()) ? named.trim() : 'api';
}
