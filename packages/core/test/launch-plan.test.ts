/**
 * An agent's launch, planned once (invoker/launch-plan.ts): a table of plans from settings, the
 * callers' chain, a folder's hold and the node's facts, each asserting what the plan decided —
 * confinement, model route, environment layers, cwd, target and limits. Pure: no files, no
 * processes; the node's facts are given.
 */
import { describe, expect, it } from 'vitest';
import type { Settings } from '../src/config/schema.ts';
import { type LaunchInput, type LaunchNode, planLaunch } from '../src/invoker/launch-plan.ts';

const HOME = '/home/me';
const TINY = '/home/me/.tinyagi';
/** The node's environment: the only environment the plan reads. */
const ENV = {
  PATH: '/usr/bin:/bin',
  HOME,
  TINYAGI_HOME: TINY,
  LANG: 'C.UTF-8',
  ANTHROPIC_API_KEY: 'sk-ant-env',
  AWS_REGION: 'eu-west-1',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  DISCORD_BOT_TOKEN: 'discord-secret',
};
const CAGED: LaunchNode = { boundary: true, modelProxy: true };
const OPEN: LaunchNode = { boundary: false, modelProxy: true };
const NO_PROXY: LaunchNode = { boundary: true, modelProxy: false };

const SETTINGS: Settings = {
  workspace: { path: '/home/me/ws' },
  custom_providers: { gw: { name: 'Gateway', runtime: 'claude-code', base_url: 'https://llm.example', api_key: 'sk-gw' } },
  agents: {
    boss: { provider: 'claude-code', sandbox: 'on', permission_mode: 'ask' },
    strict: { provider: 'claude-code', sandbox: 'required', permission_mode: 'plan' },
    helper: { provider: 'claude-code' },
    cloud: { provider: 'claude-code', env_passthrough: ['AWS_REGION', 'AWS_SECRET_ACCESS_KEY'] },
    gated: { provider: 'custom:gw', model: 'big' },
    boxedGated: { provider: 'custom:gw', model: 'big', sandbox: 'on' },
    warm: { provider: 'claude-code', process: 'warm', sandbox: 'on', fallback_provider: 'codex' },
    http: { provider: 'anthropic-api', sandbox: 'on' },
  },
} as Settings;

function plan(agentId: string, more: Partial<LaunchInput> = {}) {
  return planLaunch({ settings: SETTINGS, agentId, env: ENV, cwd: `/home/me/ws/${agentId}`, node: CAGED, ...more });
}

/** Where each variable came from: layer name -> variable names. */
function layerNames(p: ReturnType<typeof plan>): Record<string, string[]> {
  return Object.fromEntries(p.env.layers.map((l) => [l.layer, Object.keys(l.vars).sort()]));
}

describe('confinement after the chain', () => {
  it('an unsandboxed agent called by a sandboxed one runs confined, in the tighter permission mode', () => {
    const own = plan('helper');
    expect(own.confinement).toMatchObject({ own: 'off', mode: 'off', confinedBy: [], enforced: false, spec: undefined });
    expect(own.target.sandbox).toBeUndefined();
    expect(own.target.confined).toBeUndefined();

    const called = plan('helper', { confinedBy: ['boss'] });
    expect(called.confinement).toMatchObject({ own: 'off', mode: 'on', confinedBy: ['boss'], permissionMode: 'ask', enforced: true });
    expect(called.target).toMatchObject({ runtime: 'claude-code', permissionMode: 'ask', confined: true, sandbox: { mode: 'on', tinyHome: TINY, workspaceRoot: '/home/me/ws' } });
    // The tightest of the chain: a `required` confiner makes it required, its `plan` the narrowest mode.
    expect(plan('helper', { confinedBy: ['boss', 'strict'] }).confinement).toMatchObject({ mode: 'required', permissionMode: 'plan' });
    // A confiner since removed from the settings still confines (`on` at least).
    expect(plan('helper', { confinedBy: ['gone'] }).confinement).toMatchObject({ mode: 'on', confinedBy: ['gone'] });
  });

  it('on a node that cannot enforce the boundary the plan says so: the spec stays (an `on` runs degraded, a `required` refuses), nothing runs as confined', () => {
    const p = plan('helper', { confinedBy: ['boss'], node: OPEN });
    expect(p.confinement).toMatchObject({ mode: 'on', enforced: false });
    expect(p.target.sandbox?.mode).toBe('on');
    expect(p.target.confined).toBeUndefined();
    // An HTTP agent runs no process: sandboxed or not, nothing starts inside.
    expect(plan('http').confinement).toMatchObject({ mode: 'on', enforced: false });
  });

  it("a held folder confines every run in it by the hold's agents and the agent itself", () => {
    const p = plan('helper', { hold: { confinedBy: ['boss', 'helper'] }, confinedBy: [] });
    expect(p.confinement).toMatchObject({ own: 'off', mode: 'on', permissionMode: 'ask', confinedBy: ['boss', 'helper'], enforced: true });
    // A damaged hold (no agents) still confines: the agent itself, `on`.
    expect(plan('helper', { hold: { confinedBy: [] } }).confinement).toMatchObject({ mode: 'on', confinedBy: ['helper'] });
    // The messages' chain and the hold's together, each once.
    expect(plan('helper', { hold: { confinedBy: ['boss'] }, confinedBy: ['strict', 'boss'] }).confinement.confinedBy).toEqual(['strict', 'boss', 'helper']);
  });
});

describe('the model route', () => {
  it('an agent on a custom provider goes through the proxy on the loopback when the node runs one, else direct', () => {
    const p = plan('gated');
    expect(p.modelRoute).toEqual({ via: 'proxy', where: 'loopback', upstream: { family: 'anthropic', baseUrl: 'https://llm.example', key: 'sk-gw', auth: 'bearer' } });
    expect(p.confinement.enforced).toBe(false);
    expect(plan('gated', { node: NO_PROXY }).modelRoute).toEqual({ via: 'direct' });
  });

  it("a confined agent's key goes through its socket and is withheld from the sandbox; a vendor key unsandboxed goes direct", () => {
    const boxed = plan('boxedGated');
    expect(boxed.modelRoute).toMatchObject({ via: 'proxy', where: 'sandbox', upstream: { key: 'sk-gw' } });
    expect(boxed.env.withheld).toContain('sk-gw');
    expect(boxed.target.sandbox?.withheld).toContain('sk-gw');
    // Called by a sandboxed agent, an unsandboxed agent on the daemon's vendor key is proxied too.
    expect(plan('helper').modelRoute).toEqual({ via: 'direct' });
    expect(plan('helper', { confinedBy: ['boss'] }).modelRoute).toMatchObject({ via: 'proxy', where: 'sandbox', upstream: { key: 'sk-ant-env' } });
    // Where the boundary does not hold, the proxy is on the loopback.
    expect(plan('helper', { confinedBy: ['boss'], node: OPEN }).modelRoute).toMatchObject({ via: 'proxy', where: 'loopback' });
  });
});

describe('environment layers', () => {
  it("env_passthrough is its own layer, the runtime's credentials another, the run's a third; the daemon's other variables nowhere", () => {
    const p = plan('cloud', { runEnv: { TINYAGI_RUN_ID: 'run_1' } });
    expect(layerNames(p)).toEqual({
      base: ['HOME', 'LANG', 'PATH', 'TERM'],
      passthrough: ['AWS_REGION', 'AWS_SECRET_ACCESS_KEY'],
      // Claude Code's own cloud variables (its Bedrock region) are the runtime's: in both layers, the runtime's winning.
      credentials: ['ANTHROPIC_API_KEY', 'AWS_REGION'],
      run: ['TINYAGI_RUN_ID'],
    });
    expect(p.env.layers.find((l) => l.layer === 'passthrough')?.vars).toEqual({ AWS_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'aws-secret' });
    expect(p.target.env).toEqual({ AWS_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: 'aws-secret', ANTHROPIC_API_KEY: 'sk-ant-env' });
    expect(JSON.stringify(p.env.layers)).not.toContain('discord-secret');
    expect(p.env.withheld).toEqual([]);
  });

  it("a confined launch lists what is withheld from the sandbox: the daemon's keys, whatever names them", () => {
    const p = plan('cloud', { confinedBy: ['boss'] });
    expect(p.env.withheld).toEqual(expect.arrayContaining(['sk-ant-env', 'discord-secret']));
    expect(p.target.sandbox?.withheld).toEqual(p.env.withheld);
  });
});

describe('target, cwd and limits', () => {
  it('a warm agent runs warm, sandboxed as its setting says; on its fallback account the confinement stays', () => {
    const p = plan('warm');
    expect(p.target).toMatchObject({ runtime: 'claude-code', warm: true, confined: true });
    const fallback = plan('warm', { account: { provider: 'codex' }, confinedBy: ['strict'] });
    expect(fallback.target).toMatchObject({ runtime: 'codex', provider: 'codex', warm: true, confined: true, sandbox: { mode: 'required' } });
    expect(fallback.confinement).toMatchObject({ own: 'on', mode: 'required', permissionMode: 'plan' });
  });

  it("a task's worktree is the launch's cwd; the limits are the agent's", () => {
    const worktree = `${TINY}/worktrees/p1/WEB-1`;
    const p = planLaunch({
      settings: { ...SETTINGS, agents: { ...SETTINGS.agents, helper: { provider: 'claude-code', timeout_s: 90, inactivity_s: 30, start_grace_s: 240 } } },
      agentId: 'helper',
      env: ENV,
      cwd: worktree,
      node: CAGED,
      mcpServers: [{ name: 'x', command: 'x', args: [], envVars: [] }],
    });
    expect(p.cwd).toBe(worktree);
    expect(p.limits).toEqual({ timeoutMs: 90_000, inactivityMs: 30_000, startGraceMs: 240_000 });
    expect(p.mcpServers.map((s) => s.name)).toEqual(['x']);
  });

  it('an unknown agent is refused, as its run fails', () => {
    expect(() => plan('nobody')).toThrow(/Unknown agent "nobody"/);
  });
});
