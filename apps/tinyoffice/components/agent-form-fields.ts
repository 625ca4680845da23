/**
 * The agent form's fields: a short form (what a new agent needs) and the rest under "More".
 * Where the settings take one of a few values, the field is a choice, its options named by the
 * contract's lists (typed from its settings type, so a new value the contract adds fails the build here).
 * No defaults live here: an empty choice is left out of the request and the daemon applies its
 * own (one definition of a new agent, docs/approvals.md "New agents").
 */
import type { AgentSettings } from '@tinyagi/client';

export type Kind = 'text' | 'number' | 'textarea' | 'provider' | 'bool' | 'choice' | 'rules' | 'lines';
export interface Choice {
  value: string;
  label: string;
}
export interface FieldSpec {
  path: string;
  label: string;
  kind: Kind;
  hint?: string;
  /** `choice`: the values besides the empty one (the daemon's default). */
  choices?: readonly Choice[];
  /** `choice`: what the empty value is called. */
  defaultLabel?: string;
  /** `choice`: what each value means, said under the field for the value chosen. */
  meanings?: Readonly<Record<string, string>>;
}

type SandboxMode = NonNullable<AgentSettings['sandbox']>;
type ProcessMode = NonNullable<AgentSettings['process']>;
type PermissionMode = NonNullable<AgentSettings['permission_mode']>;

/** What each sandbox setting means, in one line (docs/sandbox.md). */
export const SANDBOX_MEANING: Record<SandboxMode, string> = {
  off: 'runs as you, with your files and network',
  on: 'runs inside the boundary (its workspace, the egress list); unconfined if this machine cannot make one',
  required: 'runs only inside the boundary; its messages fail when the boundary does not hold',
};

/** The sandbox choices, short enough for the list; the chosen one's meaning is said under it. */
const SANDBOX_CHOICES: Record<SandboxMode, string> = {
  off: 'off: runs as you',
  on: 'on: confined where this machine allows',
  required: 'required: confined, or it does not run',
};

const PROCESS_MEANING: Record<ProcessMode, string> = {
  warm: 'warm: the CLI stays running, one process per open conversation',
  'per-message': 'per-message: the CLI is started for every message',
};

const PERMISSION_MEANING: Record<PermissionMode, string> = {
  ask: 'ask: a person answers (Approvals)',
  default: 'default: the CLI’s own default',
  acceptEdits: 'acceptEdits: file edits allowed',
  plan: 'plan: plans only, changes nothing',
  dontAsk: 'dontAsk: refuses what is not allowed',
  bypassPermissions: 'bypassPermissions: allows every tool',
};

const choicesOf = (meanings: Record<string, string>, withValue: boolean): Choice[] =>
  Object.entries(meanings).map(([value, meaning]) => ({ value, label: withValue ? `${value}: ${meaning}` : meaning }));

/** The short form: what a new agent needs. */
export const SHORT_FIELDS: FieldSpec[] = [
  { path: 'provider', label: 'Runtime', kind: 'provider' },
  { path: 'model', label: 'Model', kind: 'text', hint: 'e.g. sonnet, opus, gpt-5; empty: the runtime’s default.' },
  { path: 'working_directory', label: 'Workspace', kind: 'text', hint: 'The folder it works in; empty: its own folder under the TinyAGI workspace.' },
  {
    path: 'sandbox',
    label: 'Sandbox',
    kind: 'choice',
    choices: choicesOf(SANDBOX_CHOICES, false),
    meanings: SANDBOX_MEANING,
    defaultLabel: 'the daemon’s default for this runtime',
    hint: 'Whether its CLI runs confined (docs/sandbox.md); the agent’s page shows whether the boundary holds.',
  },
];

/** Under "More", by topic. */
export const MORE_SECTIONS: Array<{ title: string; fields: FieldSpec[] }> = [
  {
    title: 'Agent',
    fields: [
      { path: 'name', label: 'Name', kind: 'text' },
      {
        path: 'process',
        label: 'Process',
        kind: 'choice',
        choices: choicesOf(PROCESS_MEANING, false),
        defaultLabel: 'the daemon’s default',
        hint: 'A warm process takes a few hundred MB and closes after sessions.idle_minutes unused.',
      },
      { path: 'node', label: 'Node', kind: 'text', hint: 'The node that runs it when several share a PostgreSQL database (a worker’s --name); empty: any node.' },
      { path: 'system_prompt', label: 'System prompt', kind: 'textarea' },
    ],
  },
  {
    // docs/approvals.md: the rules are evaluated in the daemon, whatever the CLI.
    title: 'Permissions',
    fields: [
      {
        path: 'permission_mode',
        label: 'Permission mode',
        kind: 'choice',
        choices: choicesOf(PERMISSION_MEANING, false),
        defaultLabel: 'the runtime’s default',
        hint: 'What decides a request no rule decides.',
      },
      {
        path: 'permissions.rules',
        label: 'Rules',
        kind: 'rules',
        hint: 'Any matching deny denies, else any matching ask asks, else a matching allow allows, else the mode decides. Empty tool, command or path: any.',
      },
      { path: 'permissions.expires_s', label: 'Approval expires after (s)', kind: 'number', hint: 'How long a person has to answer (default 600).' },
      {
        path: 'permissions.on_expiry',
        label: 'On expiry',
        kind: 'choice',
        choices: [
          { value: 'deny', label: 'deny' },
          { value: 'allow', label: 'allow' },
        ],
        defaultLabel: 'default: deny',
        hint: 'What happens when nobody answered in time; the agent is told either way.',
      },
      {
        path: 'permissions.approvers',
        label: 'Approvers (one a line)',
        kind: 'lines',
        hint: 'Who may answer from the chat apps: globs on <channel>:<sender id>, e.g. telegram:12345 or slack:U*; empty: any paired sender of the conversation’s channel.',
      },
    ],
  },
  {
    title: 'Heartbeat',
    fields: [
      { path: 'heartbeat.enabled', label: 'Heartbeat enabled', kind: 'bool' },
      { path: 'heartbeat.interval', label: 'Heartbeat interval (seconds)', kind: 'number' },
    ],
  },
  {
    title: 'Limits',
    fields: [
      { path: 'limits.max_depth', label: 'Max sub-agent depth', kind: 'number' },
      { path: 'limits.max_hops', label: 'Max hops', kind: 'number' },
      { path: 'limits.max_messages', label: 'Max messages per conversation', kind: 'number' },
      { path: 'limits.max_fanout', label: 'Max fan-out', kind: 'number' },
      { path: 'limits.max_children_per_run', label: 'Max children per run', kind: 'number' },
      { path: 'limits.conversation_timeout_s', label: 'Conversation timeout (s)', kind: 'number' },
      { path: 'timeout_s', label: 'Run timeout (s)', kind: 'number' },
      { path: 'max_attempts', label: 'Max attempts', kind: 'number' },
    ],
  },
  {
    title: 'Budgets',
    fields: [
      { path: 'budgets.daily_usd', label: 'Daily budget (USD)', kind: 'number' },
      { path: 'budgets.daily_tokens', label: 'Daily budget (tokens)', kind: 'number' },
    ],
  },
];

export const FIELDS: FieldSpec[] = [...SHORT_FIELDS, ...MORE_SECTIONS.flatMap((s) => s.fields)];
