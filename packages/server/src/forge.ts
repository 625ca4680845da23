/**
 * The task flow's forge client for a binding with a GitHub forge: `@tinyagi/forge-github`
 * (Octokit), imported on first use so a daemon without a forge never loads it.
 */
import type { OpenForge } from '@tinyagi/teams';

export const openGitHubForge: OpenForge = async (connection) => {
  const { createGitHubForge } = await import('@tinyagi/forge-github');
  return createGitHubForge(connection);
};
