/**
 * Git-native tasks (docs/git-tasks.md): a project's repository binding. The shape is checked
 * here; what needs the file system (a worktree file's path resolving through a symlink out of
 * the repository) is checked by git-tasks' `resolveWorktreeFiles` when a worktree is made.
 */
import * as z from 'zod';
import { Int, NodeNameSchema, NullableStr, PathString, ShortText, Str, TimestampSchema } from './common.ts';
import { KIND_NAME_PATTERN } from './kinds.ts';

/** An argument vector: the program, then its arguments; never a shell string. */
const ArgvSchema = z.array(z.string().max(4096)).min(1).max(200);
const TimeoutMsSchema = z
  .int()
  .min(100)
  .max(24 * 60 * 60 * 1000);

/** A command with its own timeout (the setup, a check). */
export const CommandSpecSchema = z.object({ argv: ArgvSchema, timeoutMs: TimeoutMsSchema });
export type CommandSpec = z.infer<typeof CommandSpecSchema>;

/** A registered kind's name (a check kind, a forge): what the registry is asked for. */
const KindNameSchema = z.string().regex(KIND_NAME_PATTERN, 'A kind name: lower-case letters, digits and dashes, starting with a letter (at most 32)');

/** The check kind of a check that names none: its `argv` run as a process in the worktree. */
export const DEFAULT_CHECK_KIND = 'command';

/**
 * One check of a binding (docs/git-tasks.md, "Checks"). `kind` names a registered check kind
 * (docs/kinds.md, "Check kinds"); absent, it is `command`, which runs `argv`. A kind's own keys
 * are kept (a loose object) and checked by the kind when the binding is stored, as is whether the
 * kind is registered.
 */
export const CheckSpecSchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'Use 1-64 letters, digits, dots, dashes or underscores (e.g. "test")'),
  /** The check kind; absent: `command`. */
  kind: KindNameSchema.optional(),
  /** A `command` check's program and arguments, never a shell string. */
  argv: ArgvSchema.optional(),
  timeoutMs: TimeoutMsSchema,
});
export type CheckSpec = z.infer<typeof CheckSpecSchema>;

/**
 * A worktree file's path as written: relative to the repository's folder, without `..`, `.` or
 * empty segments, not absolute and not inside `.git`. The message names the path, so a list of
 * them says which one is wrong.
 */
export function worktreeFilePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\')) return 'is absolute; write it relative to the repository';
  const segments = path.split(/[\\/]/);
  if (segments.includes('..')) return 'contains "..": a worktree file may not leave the repository';
  if (segments.some((s) => s === '' || s === '.')) return 'has an empty or "." segment; write it as a plain relative path (e.g. "config/.env")';
  if (segments[0] === '.git') return 'points into .git';
  return undefined;
}

/** A worktree file (docs/glossary.md): a path of the repository copied or symlinked into each new worktree (the binding's `files`). */
export const WorktreeFileSchema = z.object({ path: PathString(1024).min(1), mode: z.enum(['copy', 'link']) }).superRefine((file, ctx) => {
  const problem = worktreeFilePathProblem(file.path);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: `The worktree file "${file.path}" (${file.mode}) ${problem}.` });
});
export type WorktreeFile = z.infer<typeof WorktreeFileSchema>;
/** @deprecated Say `WorktreeFileSchema` (its old name, kept for library users). */
export const FileRuleSchema = WorktreeFileSchema;
/** @deprecated Say `WorktreeFile`. */
export type FileRule = WorktreeFile;
/** @deprecated Say `worktreeFilePathProblem`. */
export const fileRulePathProblem = worktreeFilePathProblem;

export const DEFAULT_BRANCH_TEMPLATE = 'tinyagi/{identifier}-{slug}';
export const DEFAULT_KEEP_ABANDONED_DAYS = 14;
export const DEFAULT_MAX_ROUNDS = 5;
export const DEFAULT_FORGE_POLL_SECONDS = 120;

/**
 * The project's forge (docs/git-tasks.md, "With a GitHub forge"): GitHub, where the task's
 * pull request is opened once its Checking passes, whose check runs and review comments reach the
 * owner, and where the person's merge is made. The token is never stored here: `tokenEnv` names
 * the daemon's environment variable that holds it (never passed to agents).
 */
export const MERGE_METHODS = ['ff', 'merge'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

/** Who merged a task: a person (the route, `tinyagi task merge`, TinyOffice) or the binding's auto-merge (`autoMerge`). */
export const MERGED_BY = ['person', 'auto_merge'] as const;
export type MergedBy = (typeof MERGED_BY)[number];

/** Who merged, as stored: earlier versions wrote an auto-merge as `'rule'`, read as `'auto_merge'`. The one reader of that spelling. */
export function storedMergedBy(by: unknown): MergedBy | undefined {
  if (by === 'rule') return 'auto_merge';
  return by === 'person' || by === 'auto_merge' ? by : undefined;
}

/**
 * Auto-merge (docs/git-tasks.md, "Auto-merge"): the daemon merges a task in Review
 * itself. `checked`: once its Checking passed (and, with a forge, every check run on the pull
 * request's head has completed as success, neutral or skipped); `approved`: that, and at least
 * `approvals` people whose latest review of the pull request approves it (a forge's reviews: it
 * needs a forge). Absent: a person merges.
 */
export const AutoMergeSchema = z
  .object({
    when: z.enum(['checked', 'approved']),
    method: z.enum(MERGE_METHODS).default('merge'),
    approvals: z.int().min(1).max(20).default(1),
  })
  .meta({ id: 'AutoMerge' });
export type AutoMerge = z.output<typeof AutoMergeSchema>;

/**
 * `kind` names a registered forge (docs/kinds.md, "Forges": `github` is built in); whether it is
 * registered, and the kind's own rules for the other keys (GitHub's names of owners and
 * repositories), are checked when the binding is stored. A kind's own keys are kept.
 */
export const ForgeBindingSchema = z
  .looseObject({
    kind: KindNameSchema,
    /** The repository's owner on the forge (a user, an organisation, a group). */
    owner: z.string().min(1).max(255),
    repo: z.string().min(1).max(255),
    /** The REST API's base URL (GitHub Enterprise, a stand-in); absent: the forge's own. */
    apiUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    /** The daemon's environment variable holding the token; absent: the kind's (GitHub: GITHUB_TOKEN), filled in when the binding is stored. */
    tokenEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'The name of an environment variable (e.g. GITHUB_TOKEN)')
      .optional(),
    /** How often the daemon reads the pull request of each task in Review (seconds; 0: only on request, `tinyagi task sync`). */
    pollSeconds: z.int().min(0).max(86_400).default(DEFAULT_FORGE_POLL_SECONDS),
  })
  .meta({ id: 'ForgeBinding' });
export type ForgeBinding = z.output<typeof ForgeBindingSchema>;

/** A git identity: one line each, no angle brackets (git refuses them in an identity). */
const IdentityPart = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .refine((v) => !/[\n\r\0<>]/.test(v), { error: 'A git identity is one line without < or >.' });
export const GitIdentitySchema = z.object({ name: IdentityPart, email: IdentityPart }).meta({ id: 'GitIdentity' });
export type GitIdentity = z.output<typeof GitIdentitySchema>;

/**
 * The retention policy of a project's task worktrees (docs/git-tasks.md, "Retention"), applied by
 * the task flow on the node that holds the disk. It never removes a worktree with uncommitted
 * changes or commits merged nowhere and pushed nowhere: those are kept and named with the reason.
 * A merged task's worktree and merged branch always go (the merge removes them; the sweep finishes
 * what a crash or a refused removal left). When a worktree counts as abandoned is the binding's
 * `keepAbandonedDays`.
 */
export const RetentionSchema = z
  .object({
    /** A worktree idle past `keepAbandonedDays` whose task is deleted, in Backlog or To do: `remove` (when nothing would be lost) or `keep` (listed only). */
    abandoned: z.enum(['remove', 'keep']).default('remove'),
    /** The most the project's task worktrees may take on disk (MB, their own blocks); past it the least recently used removable ones go first. Absent: no budget. */
    diskBudgetMb: z.int().min(1).max(1_000_000_000).optional(),
  })
  .meta({ id: 'Retention' });
export type Retention = z.output<typeof RetentionSchema>;

/** The policy a binding applies: its `retention` with the defaults filled, and `keepAbandonedDays`. */
export function retentionPolicy(repo: Pick<ProjectRepo, 'retention' | 'keepAbandonedDays'>): { abandoned: 'remove' | 'keep'; abandonedDays: number; diskBudgetMb: number | null } {
  return { abandoned: repo.retention?.abandoned ?? 'remove', abandonedDays: repo.keepAbandonedDays, diskBudgetMb: repo.retention?.diskBudgetMb ?? null };
}

export const ProjectRepoSchema = z
  .object({
    /** A local checkout (absolute path). */
    path: PathString(4096).min(1).optional(),
    /** A git remote URL TinyAGI clones once. */
    url: z.string().min(1).max(4096).optional(),
    /** With several nodes: the node whose disk holds `path` (or the clone of `url`) and the worktrees; every step of the project's tasks runs there. Absent: the node of the task's agent, or any node that sees the path. */
    node: NodeNameSchema.optional(),
    baseRef: z.string().min(1).max(255).default('main'),
    /** The remote that "pushed" is proven against; absent: no push is asked for. */
    remote: ShortText.optional(),
    branchTemplate: z
      .string()
      .min(1)
      .max(200)
      .default(DEFAULT_BRANCH_TEMPLATE)
      .refine((t) => t.includes('{identifier}'), { error: 'The branch template must contain {identifier}, so that two tasks never share a branch' }),
    /** Absolute folder of the project's worktrees; absent: TINYAGI_HOME/worktrees/<project id>. */
    worktreeRoot: PathString(4096).min(1).optional(),
    files: z.array(WorktreeFileSchema).max(100).default([]),
    /**
     * How a task's worktree is checked out (docs/git-tasks.md, "Checkouts"): `layered`, an overlay of a base made once per
     * base commit with the copied files, whose writes land in the task's own folder; `full`, a checkout and copies of its own;
     * `auto`, layered when the node can mount an overlay and the repository is large or a folder is copied.
     */
    checkout: z.enum(['auto', 'layered', 'full']).default('auto'),
    setup: CommandSpecSchema.optional(),
    checks: z.array(CheckSpecSchema).max(50).default([]),
    keepAbandonedDays: z.number().positive().max(3650).default(DEFAULT_KEEP_ABANDONED_DAYS),
    /** What the task flow removes and keeps (docs/git-tasks.md, "Retention"); absent: the defaults. */
    retention: RetentionSchema.optional(),
    /** How many times the checks may send a task back to In progress before a person is asked instead (docs/git-tasks.md, rounds). */
    maxRounds: z.int().min(1).max(100).default(DEFAULT_MAX_ROUNDS),
    /** Who the task's agents commit as; absent: the person's git identity in the repository (user.name/user.email). */
    identity: GitIdentitySchema.optional(),
    /** Where pull requests, check runs, review comments and merges live (GitHub); absent: none. */
    forge: ForgeBindingSchema.optional(),
    /** The daemon merges a task in Review when this holds (auto-merge); absent: a person merges. */
    autoMerge: AutoMergeSchema.optional(),
  })
  .superRefine((repo, ctx) => {
    if (repo.forge !== undefined && repo.remote === undefined) ctx.addIssue({ code: 'custom', path: ['remote'], message: 'A forge needs the remote its pull requests are pushed to (e.g. "origin").' });
    if (repo.autoMerge?.when === 'approved' && repo.forge === undefined)
      ctx.addIssue({ code: 'custom', path: ['autoMerge', 'when'], message: 'Approvals are a forge\'s reviews: "approved" needs a forge (or use "checked").' });
    if (repo.autoMerge?.method === 'ff' && repo.forge !== undefined)
      ctx.addIssue({ code: 'custom', path: ['autoMerge', 'method'], message: 'A task with a pull request is merged on the forge with a merge commit: use "merge".' });
    if ((repo.path === undefined) === (repo.url === undefined))
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'Give either path (a local checkout) or url (a git remote), not both and not neither.' });
    if (repo.path !== undefined && !repo.path.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['path'], message: 'The repository path must be absolute.' });
    if (repo.worktreeRoot !== undefined && !repo.worktreeRoot.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['worktreeRoot'], message: 'The worktree folder must be absolute.' });
    const names = new Set<string>();
    repo.checks.forEach((check, i) => {
      if (names.has(check.name)) ctx.addIssue({ code: 'custom', path: ['checks', i, 'name'], message: `Two checks are named "${check.name}".` });
      names.add(check.name);
    });
  });
/** What a person writes (defaults optional). */
export type ProjectRepoInput = z.input<typeof ProjectRepoSchema>;
/** After parsing (defaults filled). */
export type ProjectRepo = z.output<typeof ProjectRepoSchema>;

/**
 * A task's worktree as the daemon last recorded it (docs/git-tasks.md): `creating` while the
 * step runs (or after a crash inside it: starting the task again resumes it), `ready` once the
 * worktree, branch and setup are there, `failed` with the error that stopped it (the task stays
 * where it is; moving it out of In progress and back runs the step again).
 */
export const TASK_WORKTREE_STATES = ['creating', 'ready', 'failed'] as const;
export type TaskWorktreeState = (typeof TASK_WORKTREE_STATES)[number];

/**
 * The task's Checking, as recorded (docs/git-tasks.md): `running` while the daemon collects the
 * facts (after a crash, the next start runs it again), `passed` (the task went to Review),
 * `failed` (back to In progress with feedback), `needs_person` (rounds exhausted: a person decides).
 */
export const TASK_CHECK_STATES = ['running', 'passed', 'failed', 'needs_person'] as const;
export type TaskCheckState = (typeof TASK_CHECK_STATES)[number];

/** One check's result: how it ended, how long it took, its bounded log (head and tail). */
export const TaskCheckResultSchema = z
  .object({
    name: Str,
    argv: z.array(Str),
    /** Null when a signal ended it, it timed out, or it never started. */
    exitCode: z.int().nullable(),
    signal: NullableStr,
    timedOut: z.boolean(),
    timeoutMs: z.int().optional(),
    spawnError: z.string().optional(),
    ok: z.boolean(),
    durationMs: z.number(),
    /** The head and the tail of the output; `omittedBytes` were left out between them. */
    log: z.string(),
    omittedBytes: z.int(),
    /** What a feedback message carries: the failing lines (with context) and the end, within a budget, each cut said in bytes. */
    excerpt: z.string().optional(),
    /** The failure's fingerprint (absent when it passed). */
    fingerprint: z.string().optional(),
  })
  .meta({ id: 'TaskCheckResult' });
export type TaskCheckResult = z.infer<typeof TaskCheckResultSchema>;

export const TaskCheckSchema = z
  .object({
    state: z.enum(TASK_CHECK_STATES),
    /** The commit the facts are about (null until known). */
    headSha: NullableStr,
    startedAt: TimestampSchema,
    finishedAt: TimestampSchema.nullable(),
    /** Commits on the branch beyond the base ref. */
    commits: z.int().min(0),
    uncommitted: z.array(Str),
    /** The worktree files (or paths inside them) that the branch's commits add (absent: none; stored before as `rulePathsCommitted`, read as this). */
    worktreeFilesCommitted: z.array(Str).optional(),
    /** Null without a remote (nothing to push to). */
    pushed: z.boolean().nullable(),
    checks: z.array(TaskCheckResultSchema),
    /** What does not hold, one sentence each. */
    missing: z.array(z.string()),
    /** When collecting the facts itself failed (the worktree gone, git failing): its code and message. */
    error: z.object({ code: Str, message: Str }).nullable(),
  })
  .meta({ id: 'TaskCheck' });
export type TaskCheck = z.infer<typeof TaskCheckSchema>;

/** A confirmed merge of the task's branch into the base (docs/git-tasks.md): recorded before the worktree is removed. */
export const TaskMergeSchema = z
  .object({
    method: z.enum(MERGE_METHODS),
    branch: Str,
    /** The binding's base ref that received the branch. */
    baseRef: Str,
    /** The branch's tip, an ancestor of the base since the merge. */
    tip: Str,
    /** The base's commit after the merge: the tip (ff), the merge commit, or the base as found when it already held the tip. */
    commit: Str,
    /** The base's commit just before this merge moved it (absent when the base already held the tip, and on merges recorded before it was kept): where the task's diff starts. */
    baseBefore: Str.optional(),
    mergedAt: TimestampSchema,
    /** Absent on merges recorded before it was kept: a person's. */
    by: z.enum(MERGED_BY).optional(),
  })
  .meta({ id: 'TaskMerge' });
export type TaskMerge = z.infer<typeof TaskMergeSchema>;

/** The task's pull request on the forge, as recorded when it was opened (or found open). */
export const TaskPullRequestSchema = z.object({ number: Int, url: Str, headRef: Str, baseRef: Str, openedAt: TimestampSchema }).meta({ id: 'TaskPullRequest' });
export type TaskPullRequest = z.infer<typeof TaskPullRequestSchema>;

export const REVIEW_SIDES = ['new', 'old'] as const;

/**
 * Where a review comment sits in a task's diff: a file, a line, and which side of the diff the
 * line number counts (`new`: the branch's file, `old`: the base's, for a deleted line).
 */
export const ReviewAnchorInputSchema = z.object({
  /** The file's path in the diff, as the diff names it (the new path of a renamed file). */
  path: PathString(4096).min(1),
  line: z.int().min(1),
  side: z.enum(REVIEW_SIDES).default('new'),
});

/**
 * Where a review comment sits now (docs/git-tasks.md, "comments follow the code"): its line followed
 * from the commit it was written against to the branch's tip `commitSha` with git's diff between the
 * two. `path` is the file's path there (a renamed file's new one); `line` is null when the comment's
 * line changed since (outdated, as GitHub marks it), when its file was deleted, or when its commit
 * cannot be read. A comment on the base's line (`old`) keeps its line.
 */
export const ReviewPositionSchema = z.object({ path: Str, line: Int.nullable(), commitSha: Str }).meta({ id: 'ReviewPosition' });
export type ReviewPosition = z.infer<typeof ReviewPositionSchema>;

/**
 * A stored anchor: also the branch's commit the comment was written against (null when the task had
 * none recorded). `path`, `line` and `commitSha` stay as written; `current`, computed when the
 * comment is read (`GET /api/tasks/:id/comments` of a task with a branch), says where it is now.
 */
export const ReviewAnchorSchema = z.object({ path: Str, line: Int, side: z.enum(REVIEW_SIDES), commitSha: NullableStr, current: ReviewPositionSchema.optional() }).meta({ id: 'ReviewAnchor' });
export type ReviewAnchor = z.infer<typeof ReviewAnchorSchema>;

/**
 * The binding's auto-merge tried to merge the task and was refused (docs/git-tasks.md, "Auto-merge"):
 * the refusal's code and message, and when it is tried again: at once when the branch's tip or the
 * base moves (`tip`, `base`: what they were), else at `retryAt` (a backoff that grows with `attempts`).
 */
export const TaskAutoMergeRefusalSchema = z
  .object({
    code: Str,
    message: Str,
    hint: Str.optional(),
    at: TimestampSchema,
    attempts: z.int().min(1),
    retryAt: TimestampSchema,
    tip: NullableStr,
    base: NullableStr,
  })
  .meta({ id: 'TaskAutoMergeRefusal' });
export type TaskAutoMergeRefusal = z.infer<typeof TaskAutoMergeRefusalSchema>;

/** The steps a node that does not hold a task's disk asks of the one that does (docs/git-tasks.md, "Several nodes"). */
export const TASK_STEP_REQUESTS = ['merge', 'review', 'delete', 'sync'] as const;
export type TaskStepRequestKind = (typeof TASK_STEP_REQUESTS)[number];

/** A person's step on a task, recorded for the node that holds its disk, which carries it out once. */
export const TaskStepRequestSchema = z
  .object({
    id: Str,
    step: z.enum(TASK_STEP_REQUESTS),
    /** The node asked: the one that holds the task's repository or worktree. */
    node: Str,
    /** What the step needs (the merge's method, the review's summary, the delete's worktree choice). */
    args: z.record(z.string(), z.unknown()),
    requestedAt: TimestampSchema,
  })
  .meta({ id: 'TaskStepRequest' });
export type TaskStepRequest = z.infer<typeof TaskStepRequestSchema>;

export const TaskGitSchema = z
  .object({
    state: z.enum(TASK_WORKTREE_STATES),
    /** The task's branch (known once the step has named it). */
    branch: NullableStr,
    /** The worktree's folder, the working directory of the task's runs. */
    worktreePath: NullableStr,
    /** With several nodes: the node whose disk holds the worktree (recorded when it is made); its steps run there. */
    node: Str.optional(),
    /** A step asked of the node that holds the task's disk and not carried out yet (it waits there while that node is down). */
    request: TaskStepRequestSchema.optional(),
    /** The worktree's HEAD when it was last recorded. */
    headSha: NullableStr,
    /** How the worktree was checked out (docs/git-tasks.md, "Checkouts"): `layered` or `full`, with why `auto` did not layer it. */
    checkout: z.object({ kind: z.enum(['layered', 'full']), why: Str.optional() }).optional(),
    /** Why the last step failed (`WORKTREE_SETUP_FAILED`, `GIT_FAILED`, `INVALID_PATH`, …), or null. */
    error: z.object({ code: Str, message: Str }).nullable(),
    /** How many times the checks sent the task back to In progress (docs/git-tasks.md, rounds). */
    rounds: z.int().min(0).optional(),
    /** The task's own limit of rounds once a person gave it more (`more_rounds`); the binding's `maxRounds` until then. */
    roundsLimit: z.int().min(1).optional(),
    /**
     * The person asked after the last round (the `task_rounds` approval, docs/git-tasks.md): its
     * id, recorded before the request is made (so a restart makes it, once), and once it is
     * answered and carried out, the answer.
     */
    roundsApproval: z.object({ id: Str, requestedAt: TimestampSchema, decision: z.enum(['more_rounds', 'take_over', 'stop']).optional(), decidedBy: Str.optional() }).optional(),
    /** The fingerprints of the failures already sent to the owner: each is sent once. */
    feedbackSent: z.array(Str).optional(),
    /** The last time the daemon proved (or is proving) "done". */
    check: TaskCheckSchema.nullable().optional(),
    /** The confirmed merge (absent until merged). */
    merge: TaskMergeSchema.optional(),
    /** The task's pull request on the project's forge (absent without a forge, or until its Checking passed). */
    pullRequest: TaskPullRequestSchema.optional(),
    /** The forge's failed check runs (`check:<id>`) and review comments (`comment:<id>`) already sent to the owner: each once. */
    forgeSent: z.array(Str).optional(),
    /** The last auto-merge of the task in Review was refused (absent once it merges or is checked again). */
    autoMergeRefused: TaskAutoMergeRefusalSchema.optional(),
    /**
     * The binding's auto-merge leaves this task alone (docs/git-tasks.md, "Auto-merge"): a best of
     * N's candidate, made so (`why`); the workflow lifts it from the one it picks, a person merges the others.
     */
    autoMergeWithheld: z.object({ why: Str, at: TimestampSchema }).optional(),
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'TaskGit' });
export type TaskGit = z.infer<typeof TaskGitSchema>;

/**
 * A task's git record as stored, in today's names (the tasks stores read every one through it):
 * earlier versions stored the Checking's `rulePathsCommitted` (now `worktreeFilesCommitted`) and
 * an auto-merge's `by: 'rule'` (now `'auto_merge'`). The one reader of those spellings.
 */
export function storedTaskGit(git: TaskGit): TaskGit {
  const check = git.check as (TaskCheck & { rulePathsCommitted?: string[] }) | null | undefined;
  const mergedBy = git.merge?.by as string | undefined;
  if (check?.rulePathsCommitted === undefined && mergedBy !== 'rule') return git;
  const out: TaskGit = { ...git };
  if (check?.rulePathsCommitted !== undefined) {
    const { rulePathsCommitted, ...rest } = check;
    out.check = { ...rest, worktreeFilesCommitted: rest.worktreeFilesCommitted ?? rulePathsCommitted };
  }
  if (git.merge !== undefined && mergedBy === 'rule') out.merge = { ...git.merge, by: 'auto_merge' };
  return out;
}

/** Whether a worktree may be removed (core's `removalCheck`): clean, and merged or pushed. */
export const WorktreeRemovalSchema = z.object({
  safe: z.boolean(),
  merged: z.boolean(),
  pushed: z.boolean(),
  uncommitted: z.array(Str),
  /** Why it may not be removed (absent when safe). */
  reason: z.string().optional(),
});

/**
 * A worktree's state (docs/git-tasks.md, "Worktrees"): `ready` (its task exists), `missing` (its
 * folder is gone: the task's next step makes it again from its branch), `abandoned` (idle past
 * `keepAbandonedDays`), `orphaned` (its task was deleted).
 */
export const WORKTREE_STATES = ['ready', 'missing', 'abandoned', 'orphaned'] as const;
export type WorktreeState = (typeof WORKTREE_STATES)[number];

/** One of a project's task worktrees (`GET /api/projects/:id/worktrees`): listed, never removed by the listing. */
export const ProjectWorktreeSchema = z
  .object({
    path: Str,
    branch: NullableStr,
    head: NullableStr,
    /** The task recorded in the worktree (null when its folder is gone and no task records it). */
    taskId: NullableStr,
    /** That task's identifier (WEB-3), null when it has none or is gone. */
    identifier: NullableStr,
    state: z.enum(WORKTREE_STATES),
    /** The folder is gone; git still lists it. */
    missing: z.boolean(),
    /** The latest of the tip's commit time, the index's and the worktree's creation (epoch ms). */
    lastActivityAt: TimestampSchema,
    idleMs: z.number(),
    /** Idle for longer than the binding's `keepAbandonedDays`. */
    abandoned: z.boolean(),
    /** For an abandoned or orphaned worktree: whether it could be removed, and why not. */
    removal: WorktreeRemovalSchema.nullable(),
  })
  .meta({ id: 'ProjectWorktree' });

/** A worktree removed (`POST /api/projects/:id/worktrees/remove`, or with its task's deletion). */
export const WorktreeRemovedSchema = z.object({
  /** False when there was no worktree there any more. */
  removed: z.boolean(),
  /** The local branch was deleted (only when merged into the base). */
  branchDeleted: z.boolean(),
  /** What a forced removal lost: its uncommitted files (the branch keeps its commits). */
  lost: z.array(Str),
});
export type ProjectWorktree = z.infer<typeof ProjectWorktreeSchema>;

/** One worktree (or, `kind: 'branch'`, a branch without one; `'folder'`, a folder of the worktree root git does not list) as the retention sweep saw it. */
export const RetentionEntrySchema = z.object({
  kind: z.enum(['worktree', 'branch', 'folder']),
  path: NullableStr,
  branch: NullableStr,
  taskId: NullableStr,
  identifier: NullableStr,
  /** The worktree's own disk (real blocks), when measured. */
  bytes: z.number().nullable(),
  lastActivityAt: TimestampSchema.nullable(),
  /** Why it was removed (`merged`, `abandoned`, `orphaned`, `over budget`), or why it was kept. */
  reason: Str,
  /** Kept because removing it would lose work (uncommitted changes, commits merged and pushed nowhere). */
  atRisk: z.boolean(),
});
export type RetentionEntry = z.infer<typeof RetentionEntrySchema>;

/** The retention sweep's last run for a project (`GET /api/projects/:id/retention`): what it removed, what it kept and why. */
export const RetentionReportSchema = z
  .object({
    projectId: Str,
    /** The node that ran it (null: a single node). */
    node: NullableStr,
    at: TimestampSchema,
    durationMs: z.number(),
    policy: z.object({ abandoned: z.enum(['remove', 'keep']), abandonedDays: z.number(), diskBudgetMb: z.number().nullable() }),
    /** The task worktrees' own disk before and after the sweep (bytes). */
    bytesBefore: z.number(),
    bytesAfter: z.number(),
    removed: z.array(RetentionEntrySchema),
    kept: z.array(RetentionEntrySchema),
    /** What went wrong on the way (an entry is then kept); the next sweep tries again. */
    errors: z.array(Str),
  })
  .meta({ id: 'RetentionReport' });
export type RetentionReport = z.infer<typeof RetentionReportSchema>;

export const DIFF_FILE_STATUSES = ['added', 'modified', 'deleted', 'renamed'] as const;
export type DiffFileStatus = (typeof DIFF_FILE_STATUSES)[number];

/** One file of a task's diff (`GET /api/tasks/:id/diff`). */
export const TaskDiffFileSchema = z
  .object({
    path: Str,
    /** The path before a rename (null otherwise). */
    oldPath: NullableStr,
    status: z.enum(DIFF_FILE_STATUSES),
    binary: z.boolean(),
    additions: z.int().min(0),
    deletions: z.int().min(0),
    /** The unified patch of this file (its `diff --git` header on), cut at a line when longer than the per-file cap or past the total cap; empty for a binary file. */
    patch: z.string(),
    /** The patch was cut (or left out); `omittedBytes` of it are not here. */
    truncated: z.boolean(),
    omittedBytes: z.int().min(0),
  })
  .meta({ id: 'TaskDiffFile' });
export type TaskDiffFile = z.infer<typeof TaskDiffFileSchema>;

/** A commit of the task's branch beyond the base. */
export const TaskDiffCommitSchema = z.object({ sha: Str, subject: z.string(), author: z.string(), committedAt: TimestampSchema }).meta({ id: 'TaskDiffCommit' });

/**
 * A task's branch against its base (docs/git-tasks.md, "The diff"): the commits beyond the base
 * (newest first) and the diff `base...tip` per file, bounded. For a merged task, taken from the
 * recorded merge commit's first parent.
 */
export const TaskDiffSchema = z
  .object({
    branch: Str,
    baseRef: Str,
    /** The commit the diff starts from (the merge base of the base ref and the tip). */
    base: Str,
    tip: Str,
    /** True when taken from the recorded merge (the branch may be gone). */
    merged: z.boolean(),
    commits: z.array(TaskDiffCommitSchema),
    files: z.array(TaskDiffFileSchema),
    /** Something was left out: a file's patch cut, or files past the limits. */
    truncated: z.boolean(),
    /** What was left out: files not listed at all, and patch bytes not sent. */
    omitted: z.object({ files: z.int().min(0), bytes: z.int().min(0) }),
  })
  .meta({ id: 'TaskDiff' });
export type TaskDiff = z.infer<typeof TaskDiffSchema>;
