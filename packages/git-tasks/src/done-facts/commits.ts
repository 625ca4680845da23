/** Done-fact: the branch has commits beyond the base (the agent's work is committed, not only written). */
import { type DoneFact, fingerprintOf, sentence } from './fact.ts';

export const commitsFact: DoneFact = {
  name: 'commits beyond the base',
  failures: (v) => (v.commits > 0 ? [] : [sentence(fingerprintOf('no-commits', v.headSha), `No commits: the branch ${v.branch} has no commits beyond ${v.baseRef}. Commit your work on it.`)]),
};
