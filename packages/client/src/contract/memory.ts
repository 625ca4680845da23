/**
 * Memory (docs/memory.md): what a team learns, kept in the daemon's database per scope (an agent,
 * a team, a project). Agents propose (`remember`, `forget`), people or a scope's `auto_accept` decide, and
 * the accepted entries most relevant to a message go into the agent's context before its turn.
 * An entry is data the agent reads, never an instruction to TinyAGI.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, IdText, Int, LimitQuery, NullableStr, NullableTimestamp, Str, TimestampSchema } from './common.ts';

/** `fact`: how things are. `preference`: how a person wants things. `decision`: what was decided and why. `procedure`: how to do something. */
export const MEMORY_KINDS = ['fact', 'preference', 'decision', 'procedure'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

/** `proposed` waits for a decision; `accepted` is recalled; `rejected` and `retired` are history. */
export const MEMORY_STATUSES = ['proposed', 'accepted', 'rejected', 'retired'] as const;
export type MemoryStatus = (typeof MEMORY_STATUSES)[number];

/** Whose memory: one agent's, a team's (every member reads it), a project's (agents working on its tasks read it). */
export const MEMORY_SCOPE_KINDS = ['agent', 'team', 'project'] as const;
export type MemoryScopeKind = (typeof MEMORY_SCOPE_KINDS)[number];

/** What a proposal asks: `remember` a new entry (replacing `targetId` when set), or `forget` (retire) the entry `targetId`. */
export const MEMORY_ACTIONS = ['remember', 'forget'] as const;
export type MemoryAction = (typeof MEMORY_ACTIONS)[number];

/** The longest entry: a memory is a few sentences, not a document. */
export const MEMORY_TEXT_MAX = 4000;

/** An agent's (or a team's) `memory` settings block (docs/memory.md). */
export const MemorySettingsSchema = z.looseObject({
  /** The most tokens (characters / 4) of memory put into the agent's context before a turn; 0 turns recall off. Default 1000. Agents only. */
  budget_tokens: z.int().min(0).max(32_000).optional(),
  /** Proposals of these kinds to this scope are accepted without a person (a proposal that replaces an entry always waits). */
  auto_accept: z.array(z.enum(MEMORY_KINDS)).max(4).optional(),
});
export type MemorySettings = z.infer<typeof MemorySettingsSchema>;

/**
 * `memory.embeddings`: an OpenAI-compatible embeddings endpoint that recall uses beside full-text
 * search (off when absent). The key is read from the environment variable `api_key_env` names,
 * never from settings (an `api_key` here is refused).
 */
export const EmbeddingsSettingsSchema = z.strictObject({
  /** The API's base, e.g. https://api.openai.com/v1 (requests go to `<base_url>/embeddings`). */
  base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' }),
  model: z.string().min(1).max(200),
  /** The NAME of the environment variable holding the API key (none: no Authorization header). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name such as OPENAI_API_KEY (the key itself stays out of settings)' })
    .optional(),
  /** Asks the model for vectors of this length (models that support it, e.g. text-embedding-3-*). */
  dimensions: z.int().min(1).max(8192).optional(),
  /** An entry is a semantic match from this cosine similarity on (default 0.3). */
  min_similarity: z.number().min(-1).max(1).optional(),
  /** How long one request may take, in milliseconds (default 5000). */
  timeout_ms: z.int().min(100).max(60_000).optional(),
});
export type EmbeddingsSettings = z.infer<typeof EmbeddingsSettingsSchema>;

/** The top-level `memory` settings: per project, which proposals to its memory are accepted without a person (`memory.projects.<id>.auto_accept`); the embeddings endpoint. */
export const GlobalMemorySettingsSchema = z.looseObject({
  projects: z.record(z.string().min(1).max(200), z.looseObject({ auto_accept: MemorySettingsSchema.shape.auto_accept })).optional(),
  embeddings: EmbeddingsSettingsSchema.optional(),
});

/** The budget when an agent sets none. */
export const DEFAULT_MEMORY_BUDGET_TOKENS = 1000;

export const MemoryScopeSchema = z.strictObject({ kind: z.enum(MEMORY_SCOPE_KINDS), id: IdText }).meta({ id: 'MemoryScope' });
export type MemoryScope = z.infer<typeof MemoryScopeSchema>;

const MemoryText = z.string().trim().min(1).max(MEMORY_TEXT_MAX);

export const MemoryRecordSchema = z
  .object({
    id: Str,
    scope: MemoryScopeSchema,
    kind: z.enum(MEMORY_KINDS),
    action: z.enum(MEMORY_ACTIONS),
    status: z.enum(MEMORY_STATUSES),
    text: Str,
    /** A short title (an imported `memory/*.md` file's `name`), else null. */
    name: NullableStr,
    /** An imported file's `summary` (its line in the agent's memory index), exported with it; else null. */
    summary: NullableStr,
    /** Why the agent proposed it. */
    reason: NullableStr,
    /** `remember`: the entry it replaces when accepted (a contradiction the proposal names); `forget`: the entry it retires. */
    targetId: NullableStr,
    /** A pinned entry goes into every turn's context of its scope, before the relevant ones. */
    pinned: Bool,
    /** Where it came from: the conversation, run and message, who proposed it (`@agent`, `cli`, `tinyoffice`, `import:memory/x.md`). */
    provenance: z.object({ conversationId: NullableStr, runId: NullableStr, messageId: NullableStr, proposedBy: Str }),
    /** Who decided (`cli`, `tinyoffice`, `telegram:<sender>`, `auto_accept`, `import`), and when (`rule` stored before reads as `auto_accept`). */
    decidedBy: NullableStr,
    decidedAt: NullableTimestamp,
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
    /** When it last went into an agent's context (or was returned by `recall`). */
    lastUsedAt: NullableTimestamp,
    /** After this it is no longer recalled. */
    expiresAt: NullableTimestamp,
  })
  .meta({ id: 'MemoryRecord' });
export type MemoryRecord = z.infer<typeof MemoryRecordSchema>;

/** A proposal as the API returns it: the entry, and the accepted entries of its scope it seems to contradict (same kind, close wording). */
export const MemoryProposalSchema = z.object({ entry: MemoryRecordSchema, similar: z.array(MemoryRecordSchema) });
export type MemoryProposal = z.infer<typeof MemoryProposalSchema>;

export const MemoryListQuerySchema = z.object({
  scope: z.enum(MEMORY_SCOPE_KINDS).optional(),
  /** The scope's id (with `scope`). */
  id: IdText.optional(),
  status: z.enum(MEMORY_STATUSES).optional(),
  /** Full-text search (accepted entries first by relevance); without it, newest first. */
  q: z.string().trim().min(1).max(1000).optional(),
  /** Only the proposals and entries whose conversation came in through this channel (a channel-scoped token must give its own). */
  channel: z.string().trim().min(1).max(64).optional(),
  limit: LimitQuery,
});
export type MemoryListQuery = z.infer<typeof MemoryListQuerySchema>;

export const MemoryCreateBodySchema = z.strictObject({
  scope: MemoryScopeSchema,
  kind: z.enum(MEMORY_KINDS),
  text: MemoryText,
  name: z.string().trim().min(1).max(120).optional(),
  pinned: z.boolean().optional(),
  expiresAt: TimestampSchema.optional(),
  /** Who adds it (the CLI says `cli`); a TinyOffice login is `tinyoffice`. */
  by: z.string().min(1).max(200).optional(),
});
export type MemoryCreateBody = z.infer<typeof MemoryCreateBodySchema>;

export const MemoryDecisionBodySchema = z.strictObject({
  decision: z.enum(['accept', 'reject']),
  /** Edit then accept: the text, kind or pin as accepted. */
  text: MemoryText.optional(),
  kind: z.enum(MEMORY_KINDS).optional(),
  pinned: z.boolean().optional(),
  /** Accept a proposal that replaces an entry but keep that entry too. */
  keepTarget: z.boolean().optional(),
  /** Who decides (as for approvals: `cli`, a channel's `<channel>:<sender id>`); a TinyOffice login is `tinyoffice`. */
  by: z.string().min(1).max(200).optional(),
});
export type MemoryDecisionBody = z.infer<typeof MemoryDecisionBodySchema>;

export const MemoryPatchBodySchema = z
  .strictObject({
    text: MemoryText.optional(),
    kind: z.enum(MEMORY_KINDS).optional(),
    pinned: z.boolean().optional(),
    /** null: never expires. */
    expiresAt: TimestampSchema.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Give text, kind, pinned or expiresAt.' });
export type MemoryPatchBody = z.infer<typeof MemoryPatchBodySchema>;

export const MemoryRetireBodySchema = z.strictObject({ by: z.string().min(1).max(200).optional() });

/** The agent's `remember` (MCP): a proposal with its reason. The scope defaults to the agent's own. */
export const RunRememberBodySchema = z.strictObject({
  text: MemoryText,
  kind: z.enum(MEMORY_KINDS),
  reason: z.string().trim().min(1).max(2000),
  scope: z.enum(MEMORY_SCOPE_KINDS).optional(),
  /** The team's or project's id (with `scope` team or project; the run's task's project by default). */
  scopeId: IdText.optional(),
  /** The entry this one replaces (it contradicts it). */
  replaces: IdText.optional(),
});
export type RunRememberBody = z.infer<typeof RunRememberBodySchema>;

export const RunForgetBodySchema = z.strictObject({ id: IdText, reason: z.string().trim().min(1).max(2000) });
export type RunForgetBody = z.infer<typeof RunForgetBodySchema>;

export const RunRecallQuerySchema = z.object({ q: z.string().trim().min(1).max(1000), limit: LimitQuery });

/** What went into a run's context from memory before its turn (docs/memory.md). */
export const MemoryInjectionSchema = z
  .object({
    runId: Str,
    /** The entries, in the order they appear in the block. */
    entryIds: z.array(Str),
    /** The block's estimated size (characters / 4). */
    tokens: Int,
    /** The agent's budget at the time. */
    budget: Int,
    createdAt: TimestampSchema,
  })
  .meta({ id: 'MemoryInjection' });
export type MemoryInjection = z.infer<typeof MemoryInjectionSchema>;

/** One file of an agent's `memory/` folder in the reference's format: `name` and `summary` front matter, then the text. */
export const MemoryFileSchema = z.strictObject({
  /** Relative to `memory/`, with `/` separators (`projects/website.md`). */
  path: z.string().min(1).max(500),
  content: z.string().max(64_000),
});
export type MemoryFile = z.infer<typeof MemoryFileSchema>;

export const MemoryImportBodySchema = z.strictObject({
  agentId: IdText,
  /** The files to import; without them, the daemon reads the agent's workspace `memory/` folder. */
  files: z.array(MemoryFileSchema).max(1000).optional(),
});
export type MemoryImportBody = z.infer<typeof MemoryImportBodySchema>;

export const MemoryImportResultSchema = z
  .object({
    /** The entries made now (accepted, decided by `import`). */
    imported: z.array(MemoryRecordSchema),
    /** Files imported before (their entry exists, whatever became of it): not imported again. */
    already: Int,
    /** Files left out, with the reason (no front matter, too long, looks like a secret). */
    skipped: z.array(z.object({ path: Str, reason: Str })),
  })
  .meta({ id: 'MemoryImportResult' });
export type MemoryImportResult = z.infer<typeof MemoryImportResultSchema>;

export const MemoryExportQuerySchema = z.object({ agent: IdText });

const MemoryIdParams = IdParamsSchema;

export const memoryContract = {
  listMemory: route({
    method: 'GET',
    path: '/api/memory',
    summary:
      "Memory entries and proposals, newest first (filter by scope, status, or the channel the proposal's conversation came in through: a channel-scoped token must give its own `channel`); with `q`, full-text search ranked by relevance",
    tag: 'memory',
    auth: 'channel',
    query: MemoryListQuerySchema,
    response: z.array(MemoryRecordSchema),
  }),
  importMemory: route({
    method: 'POST',
    path: '/api/memory/import',
    summary:
      "Imports an agent's `memory/*.md` files (the reference's format) as accepted entries of its memory, decided by `import`; a file imported before is not imported again. Without `files`, the agent's workspace folder is read",
    tag: 'memory',
    body: MemoryImportBodySchema,
    response: MemoryImportResultSchema,
  }),
  exportMemory: route({
    method: 'GET',
    path: '/api/memory/export',
    summary: "An agent's accepted entries as `memory/*.md` files in the reference's format (an imported entry keeps its file's path)",
    tag: 'memory',
    query: MemoryExportQuerySchema,
    response: z.array(MemoryFileSchema),
  }),
  getMemoryRecord: route({
    method: 'GET',
    path: '/api/memory/:id',
    summary: "One memory entry or proposal (a channel-scoped token: of its own channel's conversations only)",
    tag: 'memory',
    auth: 'channel',
    params: MemoryIdParams,
    response: MemoryRecordSchema,
  }),
  createMemory: route({
    method: 'POST',
    path: '/api/memory',
    status: 201,
    summary: 'A person adds an entry, accepted at once. 400 VALIDATION_FAILED when the text looks like a secret',
    tag: 'memory',
    body: MemoryCreateBodySchema,
    response: MemoryRecordSchema,
  }),
  decideMemory: route({
    method: 'POST',
    path: '/api/memory/:id/decision',
    summary:
      "Accept (optionally edited) or reject a proposal. Accepting a `remember` that replaces an entry retires that entry (unless `keepTarget`); accepting a `forget` retires its target. 409 INVALID_STATE when it was decided already (it says who decided). A channel-scoped token decides for a paired sender of its own channel (`by`: `<channel>:<sender id>`, matching the agent's `permissions.approvers` when it has them), else 403 SCOPE_FORBIDDEN",
    tag: 'memory',
    auth: 'channel',
    params: MemoryIdParams,
    body: MemoryDecisionBodySchema,
    response: MemoryRecordSchema,
  }),
  updateMemory: route({
    method: 'PATCH',
    path: '/api/memory/:id',
    summary: 'Edit an accepted entry (text, kind, pin, expiry). 409 INVALID_STATE for an entry that is not accepted',
    tag: 'memory',
    params: MemoryIdParams,
    body: MemoryPatchBodySchema,
    response: MemoryRecordSchema,
  }),
  retireMemory: route({
    method: 'POST',
    path: '/api/memory/:id/retire',
    summary: 'A person retires an accepted entry at once: it is kept as history and never recalled again',
    tag: 'memory',
    params: MemoryIdParams,
    body: MemoryRetireBodySchema,
    response: MemoryRecordSchema,
  }),
  rememberForRun: route({
    method: 'POST',
    path: '/api/runs/:id/memory',
    status: 201,
    summary:
      "A running agent proposes an entry (the MCP tool `remember`) in its own scope, a team it belongs to or its task's project; it waits for a person unless the scope's `auto_accept` names its kind. 400 VALIDATION_FAILED for a secret-looking text, 403 SCOPE_FORBIDDEN for a scope it may not write. Only the run's own token may",
    tag: 'memory',
    auth: 'run',
    params: IdParamsSchema,
    body: RunRememberBodySchema,
    response: MemoryProposalSchema,
  }),
  recallForRun: route({
    method: 'GET',
    path: '/api/runs/:id/memory',
    summary: "A running agent searches the memory it may read (the MCP tool `recall`): its own, its teams' and its task's project's accepted entries, by relevance. Only the run's own token may",
    tag: 'memory',
    auth: 'run',
    params: IdParamsSchema,
    query: RunRecallQuerySchema,
    response: z.array(MemoryRecordSchema),
  }),
  forgetForRun: route({
    method: 'POST',
    path: '/api/runs/:id/memory/forget',
    status: 201,
    summary: "A running agent proposes to retire an entry it may read (the MCP tool `forget`); a person decides. Only the run's own token may",
    tag: 'memory',
    auth: 'run',
    params: IdParamsSchema,
    body: RunForgetBodySchema,
    response: MemoryProposalSchema,
  }),
  getRunMemoryInjection: route({
    method: 'GET',
    path: '/api/runs/:id/memory-injection',
    summary: "What went into the run's context from memory before its turn; null when nothing did",
    tag: 'memory',
    auth: 'run',
    params: IdParamsSchema,
    response: MemoryInjectionSchema.nullable(),
  }),
} as const;
