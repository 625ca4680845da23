/**
 * GitHub as a forge kind (docs/kinds.md, "Forges"): what a binding's `forge: { kind: 'github', … }`
 * resolves to in core's forge registry (the server registers it: server/src/forge.ts). Loading this
 * module loads no Octokit: `open` imports the client (github-forge.ts) on first use, so a daemon
 * without a GitHub forge never loads it. Exported as `@tinyagi/forge-github/kind`.
 */
import { defineForgeKind } from '@tinyagi/git-tasks';

const OWNER = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

export const githubForgeKind = defineForgeKind({
  name: 'github',
  title: 'GitHub',
  description: "Pull requests, check runs, reviews and the merge on GitHub (or GitHub Enterprise at apiUrl), through GitHub's REST API.",
  tokenEnv: 'GITHUB_TOKEN',
  problems: (binding) => [
    ...(OWNER.test(binding.owner) ? [] : [{ path: ['owner'], message: `"${binding.owner}" is not a GitHub owner: letters, digits and dashes (at most 39).` }]),
    ...(REPO.test(binding.repo) ? [] : [{ path: ['repo'], message: `"${binding.repo}" is not a GitHub repository name: letters, digits, dots, dashes and underscores (at most 100).` }]),
  ],
  open: async (connection) => (await import('./github-forge.ts')).createGitHubForge(connection),
});
