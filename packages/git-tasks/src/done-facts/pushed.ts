/** Done-fact: with a remote, the branch is pushed (the commit reachable from the remote's branch after a fetch). */
import { type DoneFact, fingerprintOf, sentence } from './fact.ts';

export const pushedFact: DoneFact = {
  name: 'pushed, with a remote',
  failures: (v) =>
    v.push === undefined || v.push.pushed ? [] : [sentence(fingerprintOf('not-pushed', v.headSha), `Not pushed: ${v.push.reason ?? 'the branch is not on the remote'}. Push the branch ${v.branch}.`)],
};
