/** Done-fact: every check of the binding passes, run in the worktree at the commit. A failure carries its excerpt (or its log's end). */
import { EXCERPT_CHARS } from '../checks.ts';
import { type CheckOutcome, type DoneFact, fingerprintOf } from './fact.ts';

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

function ending(check: CheckOutcome): string {
  if (check.timedOut) return `timed out after ${Math.round((check.timeoutMs ?? check.durationMs) / 1000)} s`;
  if (check.spawnError !== undefined) return `could not start (${check.spawnError})`;
  return check.exitCode !== null ? `exited with code ${check.exitCode}` : `was ended by ${check.signal ?? 'a signal'}`;
}

export const checksFact: DoneFact = {
  name: 'every check passes',
  failures: (v) =>
    v.checks
      .filter((check) => !check.ok)
      .map((check) => {
        const summary = `The check "${check.name}" (\`${check.argv.join(' ')}\`) ${ending(check)}.`;
        // The excerpt: its failing lines and the end (checks.ts); a Checking recorded before excerpts were kept has the log's end.
        const output = check.excerpt !== undefined ? `Its failing lines and the end of its output:\n\n\`\`\`\n${check.excerpt}` : `The end of its output:\n\n\`\`\`\n${tail(check.log, EXCERPT_CHARS)}`;
        return { fingerprint: check.fingerprint ?? fingerprintOf('check', v.headSha, check.name), text: `${summary} ${output}\n\`\`\``, summary };
      }),
};
