/** Done-fact: a clean worktree (what is checked and pushed is what was committed). */
import { type DoneFact, fingerprintOf, sentence } from './fact.ts';

/** How many paths the sentence names. */
const NAMED = 20;

export const uncommittedFact: DoneFact = {
  name: 'a clean worktree',
  failures(v) {
    if (v.uncommitted.length === 0) return [];
    const paths = [...v.uncommitted].sort();
    const text = `Uncommitted changes in the worktree: ${paths.slice(0, NAMED).join(', ')}${paths.length > NAMED ? ', …' : ''}. Commit them (or remove them): what is checked and pushed is what is committed.`;
    return [sentence(fingerprintOf('uncommitted', v.headSha, ...paths), text)];
  },
};
