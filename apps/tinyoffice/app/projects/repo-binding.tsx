'use client';
/**
 * The Repository dialog (docs/git-tasks.md, "A project bound to a repository"): binds, edits or
 * unbinds a project (`PATCH /api/projects/:id` with the whole `repo`, or `null`); loaded only when
 * opened (the summary above the board is repo-summary.tsx). The daemon is the one validator: its
 * 400 comes back with each issue's path (`body.repo.checks.1.name`) and is shown at that field, the
 * form kept as typed. Commands (the setup, each check) are typed as one line and sent as argv,
 * split by the client's quote-aware `splitCommand` (the CLI's too; no shell), the argv shown
 * under the field. A check or forge of another kind (a plugin's) is shown with its kind and its
 * kind's own keys as one JSON object (kinds describe no fields; the client's `kindSettings`), and
 * saved as it was unless that text is changed. Types only from the contract (`import type`): no zod here.
 */
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import {
  CHECK_COMMON_KEYS,
  checkKindOf,
  FORGE_COMMON_KEYS,
  isApiError,
  joinArgv,
  kindSettingsText,
  parseKindSettings,
  type Project,
  type ProjectRepo,
  type ProjectRepoInput,
  splitCommand,
} from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { fromApiError, type FieldIssues } from '@/lib/field-issues';
import { refusalText } from '@/lib/refusal';
import { Button } from '@/components/ui';
import { focusField, type Problem, ProblemSummary, SelectField, TextField } from '@/components/form';

const DEFAULT_TIMEOUT_S = '600';

interface FileRow {
  key: number;
  path: string;
  mode: 'copy' | 'link';
}
interface CheckRow {
  key: number;
  name: string;
  /** As written: blank is `command`. */
  kind: string;
  command: string;
  /** Another kind's own keys, as JSON. */
  settings: string;
  timeout: string;
}
interface Form {
  source: 'path' | 'url';
  location: string;
  /** Several nodes: the node whose disk holds the repository; blank: none named. */
  node: string;
  baseRef: string;
  remote: string;
  branchTemplate: string;
  worktreeRoot: string;
  files: FileRow[];
  checkout: 'auto' | 'layered' | 'full';
  setup: string;
  setupTimeout: string;
  checks: CheckRow[];
  maxRounds: string;
  keepAbandonedDays: string;
  forge: boolean;
  forgeKind: string;
  forgeSettings: string;
  owner: string;
  forgeRepo: string;
  apiUrl: string;
  tokenEnv: string;
  pollSeconds: string;
  when: 'none' | 'checked' | 'approved';
  approvals: string;
  method: 'merge' | 'ff';
  abandoned: 'remove' | 'keep';
  diskBudgetMb: string;
}

let rowKey = 0;
const seconds = (ms: number) => String(ms / 1000);
const isCommand = (kind: string) => checkKindOf({ kind: kind.trim() || undefined }) === 'command';

function checkRowOf(c: ProjectRepo['checks'][number]): CheckRow {
  const command = isCommand(c.kind ?? '');
  return {
    key: rowKey++,
    name: c.name,
    kind: c.kind ?? '',
    command: command ? joinArgv(c.argv ?? []) : '',
    settings: command ? '' : kindSettingsText(c, CHECK_COMMON_KEYS),
    timeout: seconds(c.timeoutMs),
  };
}

function formOf(repo: ProjectRepo | null): Form {
  return {
    source: repo?.url !== undefined ? 'url' : 'path',
    location: repo?.path ?? repo?.url ?? '',
    node: repo?.node ?? '',
    baseRef: repo?.baseRef ?? 'main',
    remote: repo?.remote ?? '',
    branchTemplate: repo?.branchTemplate ?? '',
    worktreeRoot: repo?.worktreeRoot ?? '',
    files: (repo?.files ?? []).map((f) => ({ key: rowKey++, path: f.path, mode: f.mode })),
    checkout: repo?.checkout ?? 'auto',
    setup: repo?.setup ? joinArgv(repo.setup.argv) : '',
    setupTimeout: repo?.setup ? seconds(repo.setup.timeoutMs) : DEFAULT_TIMEOUT_S,
    checks: (repo?.checks ?? []).map(checkRowOf),
    maxRounds: repo ? String(repo.maxRounds) : '',
    keepAbandonedDays: repo ? String(repo.keepAbandonedDays) : '',
    forge: repo?.forge !== undefined,
    forgeKind: repo?.forge?.kind ?? 'github',
    forgeSettings: repo?.forge ? kindSettingsText(repo.forge, FORGE_COMMON_KEYS) : '',
    owner: repo?.forge?.owner ?? '',
    forgeRepo: repo?.forge?.repo ?? '',
    apiUrl: repo?.forge?.apiUrl ?? '',
    tokenEnv: repo?.forge?.tokenEnv ?? '',
    pollSeconds: repo?.forge ? String(repo.forge.pollSeconds) : '',
    when: repo?.autoMerge?.when ?? 'none',
    approvals: String(repo?.autoMerge?.approvals ?? 1),
    method: repo?.autoMerge?.method ?? 'merge',
    abandoned: repo?.retention?.abandoned ?? 'remove',
    diskBudgetMb: repo?.retention?.diskBudgetMb === undefined ? '' : String(repo.retention.diskBudgetMb),
  };
}

/** Reads the form's text fields, noting each problem at its field's path. */
function fieldReader(issues: FieldIssues) {
  const problem = (path: string, message: string) => {
    issues[path] = [...(issues[path] ?? []), message];
  };
  return {
    number(path: string, text: string, scale = 1): number | undefined {
      if (text.trim() === '') return undefined;
      const n = Number(text);
      if (!Number.isFinite(n)) {
        problem(path, 'must be a number');
        return undefined;
      }
      return Math.round(n * scale * 1000) / 1000;
    },
    command(path: string, text: string): string[] {
      const split = splitCommand(text);
      if (split.error !== undefined) problem(path, `The command ${split.error}.`);
      else if (split.argv.length === 0) problem(path, 'Type the command to run (e.g. pnpm test).');
      return split.argv ?? [];
    },
    /** A kind's own keys, typed as a JSON object. */
    settings(path: string, text: string, common: readonly string[]): Record<string, unknown> {
      const parsed = parseKindSettings(text, common);
      if (parsed.error !== undefined) problem(path, `The settings ${parsed.error}.`);
      return parsed.settings ?? {};
    },
  };
}
type FieldReader = ReturnType<typeof fieldReader>;

const trimmed = (s: string) => (s.trim() === '' ? undefined : s.trim());

/** A check row as sent: a command check's argv, another kind's own keys (as typed) beside its name and timeout. */
function checkOf(c: CheckRow, i: number, read: FieldReader): NonNullable<ProjectRepoInput['checks']>[number] {
  const kind = trimmed(c.kind);
  const timeoutMs = read.number(`checks.${i}.timeoutMs`, c.timeout, 1000) ?? 600_000;
  if (isCommand(c.kind)) return { name: c.name.trim(), ...(kind ? { kind } : {}), argv: read.command(`checks.${i}.argv`, c.command), timeoutMs };
  return { ...read.settings(`checks.${i}.settings`, c.settings, CHECK_COMMON_KEYS), name: c.name.trim(), kind: kind!, timeoutMs };
}

function forgeOf(f: Form, read: FieldReader): ProjectRepoInput['forge'] {
  const pollSeconds = read.number('forge.pollSeconds', f.pollSeconds);
  return {
    ...read.settings('forge.settings', f.forgeSettings, FORGE_COMMON_KEYS),
    kind: trimmed(f.forgeKind) ?? 'github',
    owner: f.owner.trim(),
    repo: f.forgeRepo.trim(),
    ...(trimmed(f.apiUrl) ? { apiUrl: f.apiUrl.trim() } : {}),
    ...(trimmed(f.tokenEnv) ? { tokenEnv: f.tokenEnv.trim() } : {}),
    ...(pollSeconds !== undefined ? { pollSeconds } : {}),
  };
}

const isBlankCheck = (c: CheckRow) => [c.name, c.kind, c.command, c.settings].every((v) => v.trim() === '');

/**
 * The binding the form says, or the problems that stop it being sent (a command that does not
 * split, a number that is not one, settings that are not a JSON object). Blank optional fields
 * are left out (the daemon's defaults apply); blank rows are dropped. Everything else is the
 * daemon's to judge.
 */
function bindingOf(f: Form): { repo: ProjectRepoInput; issues: FieldIssues } {
  const issues: FieldIssues = {};
  const read = fieldReader(issues);
  const repo: ProjectRepoInput = {};
  const location = trimmed(f.location);
  if (location !== undefined) repo[f.source] = location;
  if (trimmed(f.node)) repo.node = f.node.trim();
  if (trimmed(f.baseRef)) repo.baseRef = f.baseRef.trim();
  if (trimmed(f.remote)) repo.remote = f.remote.trim();
  if (trimmed(f.branchTemplate)) repo.branchTemplate = f.branchTemplate.trim();
  if (trimmed(f.worktreeRoot)) repo.worktreeRoot = f.worktreeRoot.trim();
  repo.files = f.files.filter((r) => r.path.trim() !== '').map((r) => ({ path: r.path.trim(), mode: r.mode }));
  repo.checkout = f.checkout;
  if (f.setup.trim() !== '') repo.setup = { argv: read.command('setup.argv', f.setup), timeoutMs: read.number('setup.timeoutMs', f.setupTimeout, 1000) ?? 600_000 };
  repo.checks = f.checks.flatMap((c, i) => (isBlankCheck(c) ? [] : [checkOf(c, i, read)]));
  const maxRounds = read.number('maxRounds', f.maxRounds);
  if (maxRounds !== undefined) repo.maxRounds = maxRounds;
  const keep = read.number('keepAbandonedDays', f.keepAbandonedDays);
  if (keep !== undefined) repo.keepAbandonedDays = keep;
  const budget = read.number('retention.diskBudgetMb', f.diskBudgetMb);
  if (f.abandoned === 'keep' || budget !== undefined) repo.retention = { abandoned: f.abandoned, ...(budget !== undefined ? { diskBudgetMb: budget } : {}) };
  if (f.forge) repo.forge = forgeOf(f, read);
  if (f.when !== 'none') {
    const approvals = f.when === 'approved' ? read.number('autoMerge.approvals', f.approvals) : undefined;
    repo.autoMerge = { when: f.when, method: f.method, ...(approvals !== undefined ? { approvals } : {}) };
  }
  return { repo, issues };
}

/**
 * The daemon's issues at the form's fields: `path` and `url` at the location field (whichever is
 * chosen), a command's `argv.3` at its command field, a worktree file's `files.2` at its path. Blank rows
 * are not sent, so a sent index is mapped back to its row through `sentChecks` / `sentFiles`.
 */
function placeIssues(issues: FieldIssues, source: 'path' | 'url', sentChecks: number[], sentFiles: number[]): FieldIssues {
  const out: FieldIssues = {};
  for (const [raw, messages] of Object.entries(issues)) {
    let path = raw;
    if (path === 'path' || path === 'url') path = source;
    path = path.replace(/^(setup|checks\.\d+)\.argv(\.\d+)?$/, '$1.argv');
    path = path.replace(/^checks\.(\d+)(?=\.|$)/, (_, i: string) => `checks.${sentChecks[Number(i)] ?? i}`);
    path = path.replace(/^checks\.(\d+)$/, 'checks.$1.name');
    // A kind's own key (`checks.0.path`, `forge.bare`): at the field holding its settings.
    path = path.replace(/^checks\.(\d+)\.(?!(?:name|kind|argv|timeoutMs)$).+$/, 'checks.$1.settings');
    path = path.replace(/^forge\.(?!(?:kind|owner|repo|apiUrl|tokenEnv|pollSeconds)$).+$/, 'forge.settings');
    path = path.replace(/^files\.(\d+)(\.path)?$/, (_, i: string) => `files.${sentFiles[Number(i)] ?? i}.path`);
    path = path.replace(/^files\.(\d+)\.mode$/, (_, i: string) => `files.${sentFiles[Number(i)] ?? i}.mode`);
    out[path] = [...(out[path] ?? []), ...messages];
  }
  return out;
}

/** The order of the fields on the form: the first problem's field gets the focus. */
function fieldOrder(f: Form): string[] {
  return [
    f.source,
    'node',
    'baseRef',
    'remote',
    'branchTemplate',
    'worktreeRoot',
    ...f.files.flatMap((_, i) => [`files.${i}.path`, `files.${i}.mode`]),
    'checkout',
    'setup.argv',
    'setup.timeoutMs',
    ...f.checks.flatMap((_, i) => [`checks.${i}.name`, `checks.${i}.kind`, `checks.${i}.argv`, `checks.${i}.settings`, `checks.${i}.timeoutMs`]),
    'maxRounds',
    'keepAbandonedDays',
    'forge.kind',
    'forge.owner',
    'forge.repo',
    'forge.apiUrl',
    'forge.tokenEnv',
    'forge.pollSeconds',
    'forge.settings',
    'autoMerge.when',
    'autoMerge.approvals',
    'autoMerge.method',
    'retention.abandoned',
    'retention.diskBudgetMb',
  ];
}

/** The argv a command line becomes, under its field (nothing while it is empty). */
function argvHint(line: string): ReactNode {
  if (line.trim() === '') return undefined;
  const split = splitCommand(line);
  if (split.error !== undefined) return <>Not yet a command: {split.error}.</>;
  return (
    <span data-testid="argv">
      argv: <code className="break-all font-mono">{JSON.stringify(split.argv)}</code>
    </span>
  );
}

const fieldset = 'min-w-0 space-y-2 rounded border border-slate-200 p-2 sm:p-3 dark:border-slate-700';
const legend = 'px-1 text-sm font-semibold';

/** What a section of the form reads and changes. */
interface SectionProps {
  form: Form;
  issues: FieldIssues;
  set: <K extends keyof Form>(key: K, value: Form[K]) => void;
}

/** A section with rows (worktree files, checks): each row changed or removed, rows added. */
interface RowsProps extends SectionProps {
  update: (change: (f: Form) => Form) => void;
  setRow: <K extends 'files' | 'checks'>(list: K, i: number, patch: Partial<Form[K][number]>) => void;
  removeRow: (list: 'files' | 'checks', i: number) => void;
}

/** Where the repository is: a local checkout or a remote URL, the node that holds it, its base ref, remote, branch template and worktree folder. */
function WhereSection({ form, issues, set }: SectionProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Where</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1 text-sm" role="radiogroup" aria-label="The repository is">
        <label className="flex items-center gap-1">
          <input type="radio" name="repo-source" checked={form.source === 'path'} onChange={() => set('source', 'path')} /> a local checkout
        </label>
        <label className="flex items-center gap-1">
          <input type="radio" name="repo-source" checked={form.source === 'url'} onChange={() => set('source', 'url')} /> a remote URL (cloned once)
        </label>
      </div>
      <TextField
        path={form.source}
        label={form.source === 'path' ? 'Local path (absolute)' : 'Remote URL'}
        issues={issues}
        value={form.location}
        onChange={(v) => set('location', v)}
        placeholder={form.source === 'path' ? '/home/me/src/web' : 'https://github.com/acme/web.git'}
      />
      <div className="grid gap-2 sm:grid-cols-2">
        <TextField
          path="node"
          label="Node"
          issues={issues}
          value={form.node}
          onChange={(v) => set('node', v)}
          placeholder="wk1"
          hint="With several nodes: the one whose disk holds it; its worktrees and task steps run there. Blank: the task's agent's node."
        />
        <TextField path="baseRef" label="Base ref" issues={issues} value={form.baseRef} onChange={(v) => set('baseRef', v)} placeholder="main" hint="Tasks branch from it and merge into it." />
        <TextField path="remote" label="Remote" issues={issues} value={form.remote} onChange={(v) => set('remote', v)} placeholder="origin" hint="Blank: no push is asked for." />
        <TextField
          path="branchTemplate"
          label="Branch template"
          issues={issues}
          value={form.branchTemplate}
          onChange={(v) => set('branchTemplate', v)}
          placeholder="tinyagi/{identifier}-{slug}"
          hint={
            <>
              Must contain <code>{'{identifier}'}</code> (the task’s WEB-3); <code>{'{slug}'}</code> is its title.
            </>
          }
        />
        <TextField
          path="worktreeRoot"
          label="Worktree folder (absolute)"
          issues={issues}
          value={form.worktreeRoot}
          onChange={(v) => set('worktreeRoot', v)}
          placeholder="TINYAGI_HOME/worktrees/<project>"
        />
      </div>
    </fieldset>
  );
}

/** The worktree files, copied or linked into each new worktree, one a row. */
function FilesSection({ form, issues, set, update, setRow, removeRow }: RowsProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Files for each worktree</legend>
      <p className="text-xs text-slate-600 dark:text-slate-300">Copied or linked from the repository into each new worktree: a relative path (.env, node_modules).</p>
      {form.files.map((row, i) => (
        <div key={row.key} className="grid grid-cols-[minmax(0,1fr)_auto_auto] items-end gap-2" data-testid="worktree-file">
          <TextField path={`files.${i}.path`} label={`File ${i + 1}: path`} issues={issues} value={row.path} onChange={(v) => setRow('files', i, { path: v })} placeholder=".env" />
          <SelectField
            path={`files.${i}.mode`}
            label={`File ${i + 1}: as`}
            issues={issues}
            value={row.mode}
            onChange={(v) => setRow('files', i, { mode: v as FileRow['mode'] })}
            options={[
              { value: 'copy', label: 'a copy' },
              { value: 'link', label: 'a link' },
            ]}
          />
          <Button aria-label={`Remove file ${i + 1}`} onClick={() => removeRow('files', i)}>
            Remove
          </Button>
        </div>
      ))}
      <Button onClick={() => update((f) => ({ ...f, files: [...f.files, { key: rowKey++, path: '', mode: 'copy' }] }))}>Add a file</Button>
      <SelectField
        path="checkout"
        label="Each worktree is"
        issues={issues}
        value={form.checkout}
        onChange={(v) => set('checkout', v as Form['checkout'])}
        options={[
          { value: 'auto', label: 'layered when it pays (a copied folder, a large repository) and this node can' },
          { value: 'layered', label: 'an overlay of a base made once per commit' },
          { value: 'full', label: 'a checkout and copies of its own' },
        ]}
      />
    </fieldset>
  );
}

/** The setup command, the checks (one row each) and the limits on rounds and abandoned worktrees. */
function ChecksSection({ form, issues, set, update, setRow, removeRow }: RowsProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Setup and checks</legend>
      <p className="text-xs text-slate-600 dark:text-slate-300">
        A command is one line, split into its words (quotes keep spaces) and run as is: no shell, so no pipes, <code>&amp;&amp;</code> or variables.
      </p>
      <div className="grid gap-2 sm:grid-cols-[minmax(0,1fr)_8rem]">
        <TextField
          path="setup.argv"
          label="Setup, once in a new worktree"
          issues={issues}
          value={form.setup}
          onChange={(v) => set('setup', v)}
          placeholder="pnpm install --offline"
          hint={argvHint(form.setup)}
        />
        <TextField path="setup.timeoutMs" label="Timeout (s)" type="number" issues={issues} value={form.setupTimeout} onChange={(v) => set('setupTimeout', v)} />
      </div>
      {form.checks.map((row, i) => (
        <fieldset key={row.key} className="min-w-0 rounded border border-slate-200 p-2 dark:border-slate-700" data-testid="check-row">
          <legend className="px-1 text-xs font-semibold">Check {i + 1}</legend>
          <div className="grid gap-2 sm:grid-cols-[8rem_7rem_minmax(0,1fr)_6rem]">
            <TextField path={`checks.${i}.name`} label="Name" issues={issues} value={row.name} onChange={(v) => setRow('checks', i, { name: v })} placeholder="test" />
            <TextField path={`checks.${i}.kind`} label="Kind" issues={issues} value={row.kind} onChange={(v) => setRow('checks', i, { kind: v })} placeholder="command" />
            {isCommand(row.kind) ? (
              <TextField
                path={`checks.${i}.argv`}
                label="Command"
                issues={issues}
                value={row.command}
                onChange={(v) => setRow('checks', i, { command: v })}
                placeholder="pnpm test"
                hint={argvHint(row.command)}
              />
            ) : (
              <TextField
                path={`checks.${i}.settings`}
                label="Settings of its kind (JSON)"
                issues={issues}
                value={row.settings}
                onChange={(v) => setRow('checks', i, { settings: v })}
                placeholder='{"path": "NOTES.md"}'
                hint="The kind's own keys, saved as written."
              />
            )}
            <TextField path={`checks.${i}.timeoutMs`} label="Timeout (s)" type="number" issues={issues} value={row.timeout} onChange={(v) => setRow('checks', i, { timeout: v })} />
          </div>
          <Button className="mt-2" aria-label={`Remove check ${i + 1}`} onClick={() => removeRow('checks', i)}>
            Remove
          </Button>
        </fieldset>
      ))}
      <Button onClick={() => update((f) => ({ ...f, checks: [...f.checks, { key: rowKey++, name: '', kind: '', command: '', settings: '', timeout: DEFAULT_TIMEOUT_S }] }))}>Add a check</Button>
      <div className="grid gap-2 sm:grid-cols-2">
        <TextField
          path="maxRounds"
          label="Max rounds"
          type="number"
          issues={issues}
          value={form.maxRounds}
          onChange={(v) => set('maxRounds', v)}
          placeholder="5"
          hint="Sends back before a person is asked."
        />
        <TextField
          path="keepAbandonedDays"
          label="Keep abandoned worktrees (days)"
          type="number"
          issues={issues}
          value={form.keepAbandonedDays}
          onChange={(v) => set('keepAbandonedDays', v)}
          placeholder="14"
          hint="Idle longer: listed as abandoned."
        />
      </div>
    </fieldset>
  );
}

/** The forge (GitHub, or a plugin's kind): where the pull requests are opened and how often they are read. */
function ForgeSection({ form, issues, set }: SectionProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Forge</legend>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.forge} onChange={(e) => set('forge', e.target.checked)} /> Open pull requests on a forge (needs the remote)
      </label>
      {form.forge && (
        <div className="grid gap-2 sm:grid-cols-2">
          <TextField
            path="forge.kind"
            label="Forge kind"
            issues={issues}
            value={form.forgeKind}
            onChange={(v) => set('forgeKind', v)}
            placeholder="github"
            hint="github, or a kind a plugin registered."
          />
          <TextField path="forge.owner" label="Owner" issues={issues} value={form.owner} onChange={(v) => set('owner', v)} placeholder="acme" />
          <TextField path="forge.repo" label="Repository" issues={issues} value={form.forgeRepo} onChange={(v) => set('forgeRepo', v)} placeholder="web" />
          <TextField
            path="forge.apiUrl"
            label="API URL"
            issues={issues}
            value={form.apiUrl}
            onChange={(v) => set('apiUrl', v)}
            placeholder="https://api.github.com"
            hint="Blank: the forge’s own (github.com)."
          />
          <TextField
            path="forge.tokenEnv"
            label="Token variable"
            issues={issues}
            value={form.tokenEnv}
            onChange={(v) => set('tokenEnv', v)}
            placeholder="GITHUB_TOKEN"
            hint="The name of the daemon’s environment variable holding the token (blank: the kind’s own); the token itself is never asked for or stored."
          />
          <TextField
            path="forge.pollSeconds"
            label="Read pull requests every (s)"
            type="number"
            issues={issues}
            value={form.pollSeconds}
            onChange={(v) => set('pollSeconds', v)}
            placeholder="120"
            hint="0: only on request."
          />
          <TextField
            path="forge.settings"
            label="Settings of the forge's kind (JSON)"
            issues={issues}
            value={form.forgeSettings}
            onChange={(v) => set('forgeSettings', v)}
            placeholder="{}"
            hint="Keys of its kind beyond these fields, saved as written; GitHub has none."
          />
        </div>
      )}
    </fieldset>
  );
}

/** Who merges (a person, or the daemon once the checks pass or the task is approved) and how. */
function MergeSection({ form, issues, set }: SectionProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Merge</legend>
      <div className="grid gap-2 sm:grid-cols-[minmax(0,2fr)_minmax(0,1fr)_minmax(0,1.5fr)]">
        <SelectField
          path="autoMerge.when"
          label="Who merges"
          issues={issues}
          value={form.when}
          onChange={(v) => set('when', v as Form['when'])}
          options={[
            { value: 'none', label: 'a person' },
            { value: 'checked', label: 'the daemon, when checks pass' },
            { value: 'approved', label: 'the daemon, when approved' },
          ]}
        />
        {form.when === 'approved' && <TextField path="autoMerge.approvals" label="Approvals needed" type="number" issues={issues} value={form.approvals} onChange={(v) => set('approvals', v)} />}
        {form.when !== 'none' && (
          <SelectField
            path="autoMerge.method"
            label="As"
            issues={issues}
            value={form.method}
            onChange={(v) => set('method', v as Form['method'])}
            options={[
              { value: 'merge', label: 'a merge commit' },
              { value: 'ff', label: 'a fast-forward' },
            ]}
          />
        )}
      </div>
    </fieldset>
  );
}

/** The modal that binds, edits or unbinds (the native <dialog>: focus kept inside, Escape closes). */
/** The retention policy (docs/git-tasks.md, "Retention"): what the daemon does with abandoned worktrees, and a disk budget. */
function RetentionSection({ form, issues, set }: SectionProps) {
  return (
    <fieldset className={fieldset}>
      <legend className={legend}>Retention</legend>
      <div className="grid gap-2 sm:grid-cols-2">
        <SelectField
          path="retention.abandoned"
          label="Abandoned worktrees"
          issues={issues}
          value={form.abandoned}
          onChange={(v) => set('abandoned', v as Form['abandoned'])}
          options={[
            { value: 'remove', label: 'removed when nothing would be lost' },
            { value: 'keep', label: 'kept (listed only)' },
          ]}
        />
        <TextField
          path="retention.diskBudgetMb"
          label="Disk budget (MB)"
          type="number"
          issues={issues}
          value={form.diskBudgetMb}
          onChange={(v) => set('diskBudgetMb', v)}
          placeholder="none"
          hint="Past it, the least recently used removable worktrees go first."
        />
      </div>
    </fieldset>
  );
}

export function RepoDialog({ project, onSaved, onClose }: { project: Project; onSaved: (p: Project) => void; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [form, setForm] = useState<Form>(() => formOf(project.repo));
  // What the dialog opened with: closing it with changes asks first (a long form is easily lost to one Escape).
  const [initial] = useState(form);
  const dirty = JSON.stringify(form) !== JSON.stringify(initial);
  const mayClose = () => !dirty || window.confirm('Close without saving? Your changes to the binding are lost.');
  const [issues, setIssues] = useState<FieldIssues>({});
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setRow = <K extends 'files' | 'checks'>(list: K, i: number, patch: Partial<Form[K][number]>) =>
    setForm((f) => ({ ...f, [list]: f[list].map((row, j) => (j === i ? { ...row, ...patch } : row)) }));
  const removeRow = (list: 'files' | 'checks', i: number) => {
    setForm((f) => ({ ...f, [list]: f[list].filter((_, j) => j !== i) }));
    // Problems are keyed by row: after a removal they no longer point at the right one.
    setIssues({});
    setProblems([]);
  };

  const refuse = (found: FieldIssues, message: string | null) => {
    setIssues(found);
    setError(message);
    const order = fieldOrder(form);
    const rank = (p: string) => (order.includes(p) ? order.indexOf(p) : order.length);
    setProblems(
      Object.entries(found)
        .sort(([a], [b]) => rank(a) - rank(b))
        .flatMap(([path, messages]) => messages.map((message) => ({ path: path || 'repo', message, ...(order.includes(path) ? { target: path } : {}) }))),
    );
    const placed = order.find((p) => found[p] !== undefined);
    // After React has rendered the problems (aria-describedby must name them when focus lands).
    if (placed) requestAnimationFrame(() => focusField(placed));
  };

  async function save(e: FormEvent) {
    e.preventDefault();
    const { repo, issues: local } = bindingOf(form);
    if (Object.keys(local).length > 0) return refuse(local, null);
    const sentChecks = form.checks.flatMap((c, i) => (isBlankCheck(c) ? [] : [i]));
    const sentFiles = form.files.flatMap((r, i) => (r.path.trim() !== '' ? [i] : []));
    setBusy(true);
    setIssues({});
    setProblems([]);
    setError(null);
    try {
      const saved = await api().patchProject({ params: { id: project.id }, body: { repo } });
      onSaved(saved);
      dialog.current?.close();
    } catch (err) {
      // A worktree file the schema accepts but that leaves the repository through a symlink on disk: INVALID_PATH naming the file, shown at its path.
      const file = isApiError(err) && err.code === 'INVALID_PATH' ? (err.details as { file?: { path?: unknown; mode?: unknown } } | undefined)?.file : undefined;
      const row = file ? form.files.findIndex((r) => r.path.trim() === file.path && r.mode === file.mode) : -1;
      if (row >= 0) return refuse({ [`files.${row}.path`]: [messageOf(err)] }, null);
      // The schema's issues are the body's (`body.repo.…`); the kinds' own are the binding's (`repo.checks.2.path`).
      const mapped = fromApiError(err, ['body.repo.', 'repo.']);
      if (mapped === null) return refuse({}, refusalText(err));
      refuse(placeIssues(mapped, form.source, sentChecks, sentFiles), null);
    } finally {
      setBusy(false);
    }
  }

  async function unbind() {
    const where = project.repo?.path ?? project.repo?.url ?? 'its repository';
    if (!window.confirm(`Unbind ${project.name} from ${where}? Its tasks' worktrees and branches stay on disk, untouched; TinyAGI no longer makes, checks or merges them.`)) return;
    setBusy(true);
    setError(null);
    try {
      onSaved(await api().patchProject({ params: { id: project.id }, body: { repo: null } }));
      dialog.current?.close();
    } catch (err) {
      setError(refusalText(err));
    } finally {
      setBusy(false);
    }
  }

  const bound = project.repo !== null;
  return (
    <dialog
      ref={dialog}
      aria-labelledby="repo-dialog-title"
      data-testid="repo-dialog"
      onCancel={(e) => {
        if (!mayClose()) e.preventDefault();
      }}
      onClose={onClose}
      className="m-auto max-h-[calc(100dvh-1rem)] w-[min(48rem,calc(100vw-1rem))] overflow-hidden rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
    >
      <form onSubmit={(e) => void save(e)} noValidate className="flex max-h-[calc(100dvh-1rem)] flex-col">
        <div className="space-y-1 border-b border-slate-200 px-3 py-3 sm:px-4 dark:border-slate-700">
          <h2 id="repo-dialog-title" className="font-semibold">
            Repository of {project.name}
          </h2>
          <p className="text-xs text-slate-600 dark:text-slate-300">
            Each task gets its own worktree and branch; the checks prove its “done”; a merge finishes it. Blank fields take the daemon’s defaults.
          </p>
        </div>
        <div className="min-h-0 flex-1 space-y-3 overflow-y-auto px-3 py-3 sm:px-4">
          <WhereSection form={form} issues={issues} set={set} />

          <FilesSection form={form} issues={issues} set={set} update={setForm} setRow={setRow} removeRow={removeRow} />

          <ChecksSection form={form} issues={issues} set={set} update={setForm} setRow={setRow} removeRow={removeRow} />

          <ForgeSection form={form} issues={issues} set={set} />

          <MergeSection form={form} issues={issues} set={set} />
          <RetentionSection form={form} issues={issues} set={set} />
        </div>
        <div className="flex flex-wrap items-center gap-2 border-t border-slate-200 px-3 py-3 sm:px-4 dark:border-slate-700">
          {/* In the footer, beside Save: in view however far the form is scrolled; each problem links to its field. */}
          <ProblemSummary problems={problems} />
          {error && (
            <p role="alert" data-testid="repo-error" className="w-full rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
              {error}
            </p>
          )}
          <Button type="submit" tone="primary" disabled={busy}>
            {busy ? 'Saving…' : bound ? 'Save' : 'Bind'}
          </Button>
          <Button onClick={() => mayClose() && dialog.current?.close()}>Cancel</Button>
          {bound && (
            <Button tone="danger" className="ml-auto" disabled={busy} onClick={() => void unbind()}>
              Unbind…
            </Button>
          )}
        </div>
      </form>
    </dialog>
  );
}
