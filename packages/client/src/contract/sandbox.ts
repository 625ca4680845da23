/**
 * Sandboxed agents' status (docs/sandbox.md, "A status that tells the truth"): the machine's
 * self-test (GET /api/status `sandbox`; each node's as it published it, `nodes[].sandbox`) and each
 * agent's state as the node that runs it sees it (GET /api/agents `sandboxStatus`): `enforced`,
 * `degraded` with the reason and the fix, `unknown` (its node is down or has not published its
 * check), or `off`.
 */
import * as z from 'zod';
import { Bool, Num, OptionalStr, Str, TimestampSchema } from './common.ts';
import { SANDBOX_MODES } from './settings-schema.ts';

export const SANDBOX_STATES = ['enforced', 'degraded', 'unknown', 'off'] as const;
export type SandboxStateName = (typeof SANDBOX_STATES)[number];

export const AgentSandboxStatusSchema = z
  .object({
    /** What the agent's settings say (absent: off). */
    setting: z.enum(SANDBOX_MODES),
    state: z.enum(SANDBOX_STATES),
    /** Why it is not enforced (degraded), or not known (unknown). */
    reason: OptionalStr,
    /** What to change (degraded, unknown). */
    fix: OptionalStr,
    /** `required` and not enforced: its messages fail. */
    refused: Bool.optional(),
    /** The memory cap in MB, when enforced on a machine that makes cgroups. */
    memoryMb: Num.optional(),
    /** Why there is no memory cap, when enforced without one. */
    memoryNote: OptionalStr,
    /** Its workspace is held: a confined run worked in it, so its runs run confined (at least `on`) until a person releases it. */
    held: z.object({ folder: Str, by: z.array(Str), since: Str }).optional(),
    /** The node whose boundary this is: the one that runs the agent (several nodes on PostgreSQL; absent with one process). */
    node: OptionalStr,
    /** An agent on no node runs on any node: the live nodes where its state would differ from this one's. */
    elsewhere: z.array(z.object({ node: Str, state: z.enum(SANDBOX_STATES), reason: OptionalStr })).optional(),
  })
  .meta({ id: 'AgentSandboxStatus' });
export type AgentSandboxStatusView = z.infer<typeof AgentSandboxStatusSchema>;

/** The boundary on this daemon's machine: its start-up self-test (or a quick check before it). */
export const SandboxMachineSchema = z
  .object({
    ok: Bool,
    /** Why not (ok false), and the setting or package to change. */
    reason: OptionalStr,
    fix: OptionalStr,
    bwrap: OptionalStr,
    memory: z.object({ ok: Bool, reason: OptionalStr }),
    checks: z.array(z.object({ name: Str, ok: Bool, detail: Str })),
    source: z.enum(['self-test', 'quick']),
    checkedAt: TimestampSchema,
  })
  .meta({ id: 'SandboxMachine' });
export type SandboxMachine = z.infer<typeof SandboxMachineSchema>;

/** A node's boundary as it published it in the node registry (its self-test without the list of checks). */
export const NodeSandboxSchema = SandboxMachineSchema.omit({ checks: true }).meta({ id: 'NodeSandbox' });
export type NodeSandbox = z.infer<typeof NodeSandboxSchema>;
