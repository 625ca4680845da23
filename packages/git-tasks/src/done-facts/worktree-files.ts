/** Done-fact: no commit adds a worktree file, a path the binding copies or links into each worktree (the merge would replace the person's own). */
import { type DoneFact, fingerprintOf, sentence } from './fact.ts';

export const worktreeFilesFact: DoneFact = {
  name: 'no copied or linked path committed',
  failures: (v) =>
    v.worktreeFilesCommitted.map((path) =>
      sentence(
        // The fingerprint's tag keeps its first spelling: a failure already sent before the rename is not sent again.
        fingerprintOf('rule-path', v.headSha, path),
        `The branch's commits add ${path}, which the binding copies or links into each worktree: it must not be committed (the merge would replace your ${path} with it). Remove it from the branch: git rm -r --cached -- ${path}, then commit.`,
      ),
    ),
};
