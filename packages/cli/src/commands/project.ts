/**
 * `tinyagi project list|add|show|bind|unbind|archive|restore`: the kanban's projects and their
 * repository binding (docs/git-tasks.md, "A project bound to a repository") from the terminal,
 * through the API's project routes. The binding is built from flags (project-binding.ts) and
 * checked by the daemon: a refusal is its 400, each problem with its field path.
 */
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CHECK_COMMON_KEYS, checkKindOf, FORGE_COMMON_KEYS, isApiError, joinArgv, kindSettingsText, type Project, type ProjectRepo } from '@tinyagi/client';
import { MERGE_METHODS } from '@tinyagi/client/contract';
import { connect } from '../daemon/connection.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { formatTime, plural, printFields, printJson, printTable, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { choice, contextOf, parsePositiveInt, withJson } from './options.ts';
import { type BindingFlags, bindingFromFlags, DEFAULT_COMMAND_TIMEOUT_MS, hasBindingFlags } from './project-binding.ts';
import { resolveProject } from './project-ref.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function parseWholeSeconds(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of seconds (0 or more).');
  return Number(value);
}

function parseSecondsToMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds.');
  return Math.round(n * 1000);
}

function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** The binding flags of `add` and `bind`. */
function withBindingFlags(cmd: Command): Command {
  return cmd
    .option('--binding <file.json>', "the whole binding as JSON (the API's repo object); other flags then change its fields")
    .option('--path <dir>', 'a local checkout (a relative path is made absolute from the current folder)')
    .option('--url <url>', 'a git remote URL the daemon clones once')
    .option('--node <name>', 'with several nodes: the node whose disk holds the repository (its worktrees and every step of its tasks run there)')
    .option('--base <ref>', "what each task branches from and is merged into (default: the repository's own default branch)")
    .option('--remote <name>', 'the remote "pushed" is proven against (e.g. origin); none: no push is asked for')
    .option('--branch-template <template>', 'the task branch\'s name; must contain {identifier} (default "tinyagi/{identifier}-{slug}")')
    .option('--worktree-root <dir>', "the folder of the project's worktrees (default TINYAGI_HOME/worktrees/<project id>)")
    .option('--copy <path>', 'a file or folder of the repository copied into each worktree (repeatable)', collect)
    .option('--link <path>', 'a file or folder of the repository symlinked into each worktree (repeatable)', collect)
    .addOption(
      new Option('--checkout <how>', "auto (default), layered (an overlay of a base made once per commit; writes stay the task's) or full (a checkout and copies of its own)").argParser(
        choice(['auto', 'layered', 'full'] as const),
      ),
    )
    .option('--setup <command>', "run once in a new worktree, e.g. 'pnpm install --offline' (split into words, never run by a shell)")
    .option('--setup-timeout <seconds>', `the setup's time limit (default ${DEFAULT_COMMAND_TIMEOUT_MS / 1000})`, parseSecondsToMs)
    .option('--check <name=command>', "a check run when the agent says done, e.g. 'test=pnpm test' (repeatable; split into words, never run by a shell)", collect)
    .option('--check-timeout <seconds>', `each check's time limit (default ${DEFAULT_COMMAND_TIMEOUT_MS / 1000})`, parseSecondsToMs)
    .option('--max-rounds <n>', 'how many times failed checks send a task back before a person is asked (default 5)', parsePositiveInt)
    .option('--keep-abandoned-days <days>', 'idle days before a worktree is abandoned (default 14)', parsePositiveNumber)
    .addOption(new Option('--retention-abandoned <what>', 'abandoned worktrees: remove (when nothing would be lost; default) or keep (listed only)').argParser(choice(['remove', 'keep'] as const)))
    .option('--disk-budget-mb <MB>', "the most the project's task worktrees may take on disk; past it the least recently used removable ones go first (default: no budget)", parsePositiveInt)
    .option('--forge <kind:owner/repo>', "the project's forge (github:owner/repo, or a plugin's kind): pull requests, check runs, review comments and merges there (needs --remote)")
    .option('--forge-api-url <url>', "the forge's REST API (GitHub Enterprise; default https://api.github.com)")
    .option('--forge-token-env <name>', "the daemon's environment variable holding the forge's token (default GITHUB_TOKEN; the token is never stored)")
    .option('--forge-poll-seconds <n>', 'how often the daemon reads the pull request of a task in review (default 120; 0: only on request)', parseWholeSeconds)
    .option('--git-identity <"Name <email>">', "who the task's agents commit as (default: your user.name and user.email in the repository)")
    .option('--auto-merge <when>', 'the daemon merges a task in review: checked (its checks passed), approved[:N] (and N people approved on the forge), or none (a person merges)')
    .addOption(new Option('--auto-merge-method <method>', `how auto-merge merges: ${MERGE_METHODS.join(' or ')} (default merge)`).argParser(choice(MERGE_METHODS)));
}

/** `--no-…` flags: with `bind --merge`, they take a field out of the current binding. */
function withRemovalFlags(cmd: Command): Command {
  return cmd
    .option('--no-remote', 'no remote (with --merge)')
    .option('--no-node', "name no node: the node of the task's agent, or any node that sees the path (with --merge)")
    .option('--no-setup', 'no setup command (with --merge)')
    .option('--no-forge', 'no forge (with --merge)')
    .option('--no-auto-merge', 'no auto-merge: a person merges (with --merge)')
    .option('--no-git-identity', 'commit as your git identity again (with --merge)')
    .option('--no-disk-budget-mb', 'no disk budget (with --merge)');
}

function repoPlace(repo: ProjectRepo | null): string {
  return repo === null ? style.dim('none') : `${repo.path ?? repo.url ?? '-'}${repo.node === undefined ? '' : ` on node ${repo.node}`}`;
}

function autoMergeText(repo: ProjectRepo): string {
  const autoMerge = repo.autoMerge;
  if (autoMerge === undefined) return 'none: a person merges';
  const how = autoMerge.method === 'ff' ? 'fast-forward' : 'merge commit';
  return autoMerge.when === 'checked' ? `when its checks passed (${how})` : `when its checks passed and ${plural(autoMerge.approvals, 'person', 'people')} approved on the forge (${how})`;
}

/** The retention policy in words (docs/git-tasks.md, "Retention"). */
function retentionText(repo: ProjectRepo): string {
  const abandoned = repo.retention?.abandoned === 'keep' ? 'abandoned worktrees kept (listed only)' : `abandoned worktrees removed after ${plural(repo.keepAbandonedDays, 'idle day')}`;
  const budget = repo.retention?.diskBudgetMb === undefined ? 'no disk budget' : `disk budget ${repo.retention.diskBudgetMb} MB`;
  return `${abandoned}, merged ones at once, ${budget}; never one with uncommitted or unpushed work`;
}

/** Where the daemon clones a URL binding (TINYAGI_HOME/repos/<project id>: core's resolveProjectRepo). */
function clonePlace(home: string, project: Project, repo: ProjectRepo): string {
  const pushed = repo.remote !== undefined ? `, and pushed to ${repo.remote}` : ': with no remote, nothing is pushed to the URL';
  return `${join(home, 'repos', project.id)} (the daemon's clone in TINYAGI_HOME: tasks are merged there${pushed})`;
}

function printProject(project: Project, home: string): void {
  const repo = project.repo;
  const head: (readonly [string, string])[] = [
    ['project', `${project.prefix} (${project.name})${style.dim(` ${project.id}`)}`],
    ...(project.description ? ([['description', project.description]] as const) : []),
    ...(project.archivedAt !== null ? ([['archived', formatTime(project.archivedAt)]] as const) : []),
  ];
  if (repo === null) {
    printFields([...head, ['repository', 'none (not bound: `tinyagi project bind` binds it)']]);
    return;
  }
  const forge = repo.forge;
  printFields([
    ...head,
    ['repository', repo.path !== undefined ? `${repo.path} (a local checkout)` : `${repo.url} (cloned once by the daemon)`],
    ...(repo.url !== undefined ? ([['clone', clonePlace(home, project, repo)]] as const) : []),
    // Only with several nodes: one node names none.
    ...(repo.node !== undefined ? ([['node', `${repo.node} (it holds the repository and the worktrees: every step of the project's tasks runs there)`]] as const) : []),
    ['base', repo.baseRef],
    ['remote', repo.remote ?? '- (no push is asked for)'],
    ['branch template', repo.branchTemplate],
    ['git identity', repo.identity ? `${repo.identity.name} <${repo.identity.email}>` : "- (yours: the repository's user.name and user.email)"],
    ['worktree root', repo.worktreeRoot ?? `TINYAGI_HOME/worktrees/${project.id} (default)`],
    ['files', repo.files.length === 0 ? '-' : repo.files.map((f) => `${f.mode} ${f.path}`).join(', ')],
    ['checkout', CHECKOUT_TEXT[repo.checkout]],
    ['setup', repo.setup ? `${joinArgv(repo.setup.argv)} (time limit ${repo.setup.timeoutMs / 1000}s)` : '-'],
    ['max rounds', String(repo.maxRounds)],
    ['keep abandoned', plural(repo.keepAbandonedDays, 'day')],
    ['retention', retentionText(repo)],
    [
      'forge',
      forge
        ? `${forge.kind}:${forge.owner}/${forge.repo} at ${forge.apiUrl ?? (forge.kind === 'github' ? 'https://api.github.com' : 'its own API')}, token from the daemon's $${forge.tokenEnv}, ${forge.pollSeconds === 0 ? 'read only on request' : `read every ${forge.pollSeconds}s`}${` ${kindSettingsText(forge, FORGE_COMMON_KEYS)}`.trimEnd()}`
        : '-',
    ],
    ['auto merge', autoMergeText(repo)],
  ]);
  println();
  printTable(
    ['CHECK', 'TIME LIMIT', 'COMMAND'],
    repo.checks.map((c) => [c.name, `${c.timeoutMs / 1000}s`, checkKindOf(c) === 'command' ? joinArgv(c.argv ?? []) : `(a ${c.kind} check)${` ${kindSettingsText(c, CHECK_COMMON_KEYS)}`.trimEnd()}`]),
    'No checks: its Checking proves the commits only (and the push, with a remote).',
  );
}

/** A project by id, prefix or name, read from the daemon. */
async function findProject(cmd: Command, ref: string): Promise<{ project: Project; client: ReturnType<typeof connect>['client'] }> {
  const { client } = connect(contextOf(cmd));
  return { project: resolveProject(await client.listProjects(), ref), client };
}

/** What each checkout means, as `project show` says it. */
const CHECKOUT_TEXT = {
  auto: 'auto (layered when this node can mount an overlay and a folder is copied or the repository is large; else full)',
  layered: 'layered (an overlay of a base made once per commit; each task writes its own folder)',
  full: 'full (each task a checkout and copies of its own)',
} as const;

export function registerProjectCommands(program: Command): void {
  const project = program.command('project').alias('projects').description("the kanban's projects and their repository binding: list, add, show, bind, unbind, archive, restore");

  withJson(project.command('list').alias('ls').description('projects: prefix, name, the repository each is bound to (or none), tasks by status')).action(
    async (options: { json?: boolean }, cmd: Command) => {
      const { client } = connect(contextOf(cmd));
      const [projects, tasks] = await Promise.all([client.listProjects(), client.listTasks()]);
      if (options.json) return printJson(projects);
      const count = (id: string, done: boolean): number => tasks.filter((t) => t.projectId === id && (t.status === 'done') === done).length;
      printTable(
        ['PROJECT', 'NAME', 'TASKS', 'REPOSITORY'],
        projects.map((p) => [p.prefix, `${p.name}${p.archivedAt !== null ? style.dim(' (archived)') : ''}`, `${count(p.id, false)} open, ${count(p.id, true)} done`, repoPlace(p.repo)]),
        'No projects: `tinyagi project add <name>` makes one.',
      );
    },
  );

  withJson(
    withBindingFlags(
      project
        .command('add')
        .description('a new project, bound to a repository when binding flags are given (the daemon checks the binding)')
        .argument('<name>', "the project's name")
        .option('--prefix <PREFIX>', "its tasks' identifier prefix, e.g. WEB for WEB-3 (default: from the name)")
        .option('--description <text>', 'a description'),
    ),
  ).action(async (name: string, options: BindingFlags & { prefix?: string; description?: string; json?: boolean }, cmd: Command) => {
    const repo = hasBindingFlags(options) ? bindingFromFlags(options, process.cwd()) : undefined;
    const created = await connect(contextOf(cmd)).client.createProject({
      body: { name, ...(options.prefix ? { prefix: options.prefix } : {}), ...(options.description ? { description: options.description } : {}), ...(repo ? { repo } : {}) },
    });
    if (options.json) return printJson(created);
    println(`Added the project ${created.prefix} (${created.name})${created.repo ? `, bound to ${repoPlace(created.repo)}` : ''}.`);
    if (created.repo) {
      println();
      printProject(created, contextOf(cmd).home);
    }
  });

  withJson(project.command('show').description('one project and its binding as the daemon stored it (defaults filled)').argument('<project>', 'project id, prefix or name')).action(
    async (ref: string, options: { json?: boolean }, cmd: Command) => {
      const { project: found } = await findProject(cmd, ref);
      if (options.json) return printJson(found);
      printProject(found, contextOf(cmd).home);
    },
  );

  withJson(
    withRemovalFlags(
      withBindingFlags(
        project
          .command('bind')
          .description(
            'bind a project to a repository: the flags are the whole new binding, replacing the current one (as PATCH /api/projects/:id with repo does); with --merge, only the fields they name change',
          )
          .argument('<project>', 'project id, prefix or name')
          .option('--merge', 'change only the fields the flags name, keeping the rest of the current binding'),
      ),
    ),
  ).action(async (ref: string, options: BindingFlags & { merge?: boolean; json?: boolean }, cmd: Command) => {
    if (!hasBindingFlags(options)) throw usageError('Give the binding: --path or --url and any other binding flags (or --binding <file.json>).', 'See `tinyagi project bind --help`.');
    const { project: found, client } = await findProject(cmd, ref);
    if (options.merge && found.repo === null) throw usageError(`The project ${found.prefix} (${found.name}) is not bound yet: bind it without --merge.`);
    const repo = bindingFromFlags(options, process.cwd(), options.merge ? (found.repo ?? undefined) : undefined);
    const updated = await client.patchProject({ params: { id: found.id }, body: { repo } }).catch((err: unknown) => {
      // The likeliest slip: changing one field without --merge sends a binding with no repository.
      if (!options.merge && options.binding === undefined && options.path === undefined && options.url === undefined && isApiError(err, 'VALIDATION_FAILED'))
        throw new CliError('USAGE', err.message, {
          hint: '`project bind` replaces the whole binding: give --path or --url too, or add --merge to change only the fields you name.',
          cause: err,
        });
      throw err;
    });
    if (options.json) return printJson(updated);
    println(
      `Bound ${updated.prefix} (${updated.name}) to ${repoPlace(updated.repo)}${found.repo !== null ? `, replacing its binding${options.merge ? ' (with the fields given changed)' : ''}` : ''}.`,
    );
    println();
    printProject(updated, contextOf(cmd).home);
  });

  withJson(
    project
      .command('unbind')
      .description("take a project's repository binding away (its tasks and their worktrees are kept; nothing is removed from disk)")
      .argument('<project>', 'project id, prefix or name'),
  ).action(async (ref: string, options: { json?: boolean }, cmd: Command) => {
    const { project: found, client } = await findProject(cmd, ref);
    if (found.repo === null) {
      if (options.json) return printJson(found);
      return println(`${found.prefix} (${found.name}) is not bound to a repository: nothing to do.`);
    }
    const updated = await client.patchProject({ params: { id: found.id }, body: { repo: null } });
    if (options.json) return printJson(updated);
    println(`Unbound ${updated.prefix} (${updated.name}) from ${repoPlace(found.repo)}; its worktrees are left on disk.`);
  });

  for (const [name, archived, what] of [
    ['archive', true, 'archive a project (its tasks stay)'],
    ['restore', false, 'restore an archived project'],
  ] as const) {
    withJson(project.command(name).description(what).argument('<project>', 'project id, prefix or name')).action(async (ref: string, options: { json?: boolean }, cmd: Command) => {
      const { project: found, client } = await findProject(cmd, ref);
      const updated = await client.patchProject({ params: { id: found.id }, body: { archived } });
      if (options.json) return printJson(updated);
      println(`${archived ? 'Archived' : 'Restored'} ${updated.prefix} (${updated.name}).`);
    });
  }
}
