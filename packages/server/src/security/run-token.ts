/**
 * Run-scoped tokens: what an agent's shell gets (with its run id) for `tinyagi call`. The token
 * is `run.<runId>.<HMAC(runId, conversationId)>`, so it is bound to one run of one conversation:
 * it acts for its own run only (spawns children of it, asks for it, declares its actions, updates
 * its task) and reads that conversation's runs, nothing else, and only while the run runs (the
 * guard refuses it with RUN_ENDED once the run completed, failed or was cancelled). The daemon
 * mints it when it starts an agent process (mintRunToken) and passes it in the child's
 * environment.
 */
import { secretsEqual, sign } from './secrets.ts';

const PREFIX = 'run.';

export function mintRunToken(secret: string, runId: string, conversationId: string): string {
  return `${PREFIX}${runId}.${sign(secret, 'run', `${runId}\0${conversationId}`)}`;
}

export function isRunToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** The run id the token claims (not yet verified), or undefined when it is not a run token. */
export function runIdOfToken(token: string): string | undefined {
  if (!isRunToken(token)) return undefined;
  const rest = token.slice(PREFIX.length);
  const dot = rest.lastIndexOf('.');
  return dot > 0 ? rest.slice(0, dot) : undefined;
}

export function verifyRunToken(secret: string, token: string, runId: string, conversationId: string): boolean {
  return secretsEqual(token, mintRunToken(secret, runId, conversationId));
}
