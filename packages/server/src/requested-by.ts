/**
 * Who asked for a cancel or a steering command, in words a person reads in the run tree, the
 * transcript and a conversation's end reason: TinyOffice (an office session), a channel (its
 * `/stop`), or a token client, which may name itself with the `x-tinyagi-client` header (the
 * CLI, the dashboard); otherwise "the API".
 */
import type { FastifyRequest } from 'fastify';
import type { AuthInfo } from './security/guard.ts';

export const CLIENT_HEADER = 'x-tinyagi-client';

/** A client's own name: short, printable, no markup (it is shown as it is). */
const CLIENT_NAME = /^[\w .()@/-]{1,40}$/;

export function requestedBy(auth: AuthInfo, request: FastifyRequest): string {
  switch (auth.kind) {
    case 'session':
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
