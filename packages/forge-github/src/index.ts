/**
 * @tinyagi/forge-github: GitHub as a git-native task's forge (docs/git-tasks-design.md,
 * "The forge"), loaded by the daemon only for a project whose binding names a GitHub forge.
 */
export { createGitHubForge } from './github-forge.ts';
export { githubForgeKind } from './kind.ts';
