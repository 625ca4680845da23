/**
 * The daemon these end-to-end tests run against: @tinyagi/test-kit's launcher (the built CLI,
 * packages/cli/dist, built by turbo before these tests) with two mock agents in team dev. The
 * leader answers slowly enough to be seen working, then hands off to the reviewer, who reports what
 * each answer costs (a workflow's steps add it up).
 */
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '@tinyagi/test-kit';

export function startTeamDaemon(): Promise<TestDaemon> {
  return startDaemon({
    prefix: 'tinyagi-vis-',
    // tmux runs /bin/sh with this environment.
    path: ['/usr/bin', '/bin'],
    env: { TERM: 'xterm-256color', LANG: 'C.UTF-8' },
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      channels: { enabled: [] },
      agents: {
        coder: { name: 'Coder', provider: 'mock', mock: { replies: [{ match: 'build', latency_ms: 800, reply: 'Built it. [@reviewer: please review the build]' }] } },
        reviewer: { name: 'Reviewer', provider: 'mock', mock: { latency_ms: 800, reply: 'Reviewed: looks good.', usage: { input_tokens: 20, output_tokens: 5, cost_usd: 0.002 } } },
      },
      teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
    }),
  });
}
