/**
 * A runtime kind's part of settings (docs/kinds.md, "Runtimes"): the agent's block of the
 * runtime, `agents.<id>.<runtime>`, is checked against the kind's `settings` schema — the
 * built-in mock's script and acp's command, and a runtime registered here and nowhere else, by its
 * descriptor alone (validating settings needs no implementation) and not once it is unregistered.
 */
import * as z from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { defineRuntimeKind } from '@tinyagi/client/contract';
import { SettingsSchema } from '../src/config/schema.ts';
import { validateSettings } from '../src/config/validate.ts';
import { runtimeKinds } from '../src/kinds/index.ts';

const heron = defineRuntimeKind({
  name: 'heron-cli',
  aliases: [],
  title: 'Heron CLI',
  description: 'A throw-away runtime kind.',
  command: 'heron',
  installHint: null,
  passthroughEnv: [],
  capabilities: { keepsSession: false, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false },
  instructionFiles: [],
  modelAliases: {},
  modelsBlock: null,
  customProvider: null,
  retry: 'history',
  steerPoint: null,
  settings: z.looseObject({ depth: z.int().positive().optional(), pond: z.string().optional() }),
});

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

const issues = (value: unknown) => {
  const result = validateSettings(value);
  return result.ok ? [] : result.issues;
};

describe("a runtime kind's block in an agent's settings", () => {
  it("checks the acp runtime's block against its kind's schema, each problem named by its path", () => {
    expect(issues({ agents: { g: { provider: 'acp', acp: { command: 'gemini', args: ['--acp'] } } } })).toEqual([]);
    const bad = issues({ agents: { g: { provider: 'acp', acp: { command: 'gemini; rm -rf ~', args: '--acp' } } } });
    expect(bad.map((i) => i.path).sort()).toEqual(['agents.g.acp.args', 'agents.g.acp.command']);
    expect(bad.find((i) => i.path === 'agents.g.acp.command')?.message).toContain('must be an executable name');
    // Checked on any agent that has the block, whatever its provider (as the static schema did).
    expect(issues({ agents: { g: { provider: 'mock', acp: { command: '../gemini' } } } }).map((i) => i.path)).toEqual(['agents.g.acp.command']);
  });

  it("checks the mock's script, keeping each problem's own kind (its hint lists the allowed values)", () => {
    const bad = issues({ agents: { a: { provider: 'mock', mock: { reply: 'hi', replies: [{ match: 'x', fail: 'sometimes' }] } } } });
    expect(bad).toEqual([expect.objectContaining({ path: 'agents.a.mock.replies[0].fail', hint: expect.stringContaining('"retryable"') })]);
    expect(issues({ agents: { a: { mock: 'say hi' } } }).map((i) => i.path)).toEqual(['agents.a.mock']);
    expect(issues({ agents: { a: { mock: { reply: 'hi', future_key: 1 } } } })).toEqual([]);
  });

  it("is reported, once, also beside a problem that stops the schema's other rules", () => {
    const bad = issues({ limits: { max_depth: 1.5 }, agents: { a: { mock: { replies: [{ match: 'x', fail: 'sometimes' }] } } } });
    expect(bad.map((i) => i.path).sort()).toEqual(['agents.a.mock.replies[0].fail', 'limits.max_depth']);
    expect(issues({ agents: { a: { mock: { replies: [{ match: 'x', fail: 'sometimes' }] } } } })).toHaveLength(1);
  });

  it('is part of SettingsSchema itself, for a library user who parses with it', () => {
    expect(SettingsSchema.safeParse({ agents: { g: { acp: { command: 'gemini --acp' } } } }).success).toBe(false);
    expect(SettingsSchema.safeParse({ agents: { g: { acp: { command: 'gemini' } } } }).success).toBe(true);
  });

  it("checks a registered runtime's block by its descriptor alone, and leaves it as it is once unregistered", () => {
    const settings = { agents: { h: { provider: 'heron-cli', 'heron-cli': { depth: 0, pond: 7, other: true } } } };
    expect(issues(settings).map((i) => i.path)).toEqual(['agents.h.provider']);
    undo = runtimeKinds.register(heron);
    expect(
      issues(settings)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['agents.h.heron-cli.depth', 'agents.h.heron-cli.pond']);
    expect(issues({ agents: { h: { provider: 'heron-cli', 'heron-cli': { depth: 2, other: true } } } })).toEqual([]);
    undo();
    undo = undefined;
    expect(issues({ agents: { h: { provider: 'mock', 'heron-cli': { depth: 0 } } } })).toEqual([]);
  });

  it('leaves the key of a runtime that reads no block as it is', () => {
    expect(issues({ agents: { a: { provider: 'claude-code', 'claude-code': 5, codex: 'x' } } })).toEqual([]);
  });
});
