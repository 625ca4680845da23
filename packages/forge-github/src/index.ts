/**
 * @tinyagi/forge-github: GitHub as a git-native task's forge (docs/git-tasks.md, "Built (slice 7):
 * the forge"), loaded by the daemon only for a project whose binding names a GitHub forge.
 */
export { createGitHubForge } from './github-forge.ts';
