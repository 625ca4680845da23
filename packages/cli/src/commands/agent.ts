/**
 * `tinyagi agent list|add|show|remove|reset|provider|sandbox`.
 */
import { Argument, Option, type Command } from 'commander';
import type { AgentSettings, Settings } from '@tinyagi/core';
import { runtimeKinds } from '@tinyagi/core';
import {
  agentProvider,
  agentSandboxView,
  agentWorkspaceDir,
  customProviderRuntime,
  daemonSecrets,
  ownEntry,
  providerRuntime,
  releaseFolder,
  requireAgent,
  runSelfTest,
  runtimeRunsProcess,
  newAgent,
  newAgentNoteText,
  workspaceRoot,
  type NewAgent,
  type NewAgentMachine,
  type WorkspaceOutcome,
} from '../core-internal.ts';
import type { AgentSandboxStatusView } from '@tinyagi/client/contract';
import type { CliContext } from '../context.ts';
import { connect, findDaemon } from '../daemon/connection.ts';
import { settingsEditor, type SettingsEditor } from '../settings-editor.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { sandboxLoginHint } from '../doctor/sandbox-logins.ts';
import { printFields, printJson, printTable, println } from '../output/print.ts';
import { sandboxStateText } from '../output/sandbox-lines.ts';
import { confirmOrRefuse, askSelect, askText } from '../output/prompts.ts';
import { isInteractive, style } from '../output/style.ts';
import { contextOf, parseId, withJson } from './options.ts';
import { parseAgentConfig } from './agent-config-option.ts';

/** The registered runtimes (docs/kinds.md), read when the command is built: a plugin's runtime is listed too. */
function providerHelp(): string {
  return `${runtimeKinds.names().join(', ')} or custom:<id>`;
}

/** A runtime's name (an old one, e.g. "anthropic", becomes the new one) or custom:<id>. */
function parseProvider(value: string): string {
  if (/^custom:.+/.test(value)) return value;
  const runtime = providerRuntime(value);
  if (runtimeKinds.has(runtime)) return runtimeKinds.canonicalName(runtime) ?? runtime;
  throw usageError(`Unknown provider "${value}".`, `Use ${providerHelp()}.`);
}

/** The agent as shown: its provider named as it runs (an old name in the file shows as the new one). */
function agentView<T extends { provider?: string | undefined }>(agent: T): T {
  return agent.provider === undefined ? agent : { ...agent, provider: providerRuntime(agent.provider) };
}

function describeWorkspace(w: WorkspaceOutcome): string {
  switch (w.action) {
    case 'archived':
      return `Its workspace was archived to ${w.archivedTo ?? '?'}.`;
    case 'deleted':
      return `Its workspace ${w.path} was deleted.`;
    case 'absent':
      return 'It had no workspace directory.';
    case 'kept':
      return `Its workspace ${w.path} was kept${w.reason ? ` (${w.reason})` : ''}.`;
  }
}

function providerOf(settings: Settings, agent: AgentSettings): string {
  return agentProvider(settings, agent);
}

/** Takes `id` out of every team: drops a team it would leave empty, hands the lead to the next member. */
async function leaveTeams(editor: SettingsEditor, settings: Settings, id: string): Promise<string[]> {
  const notes: string[] = [];
  for (const [teamId, team] of Object.entries(settings.teams ?? {})) {
    const members = team.agents ?? [];
    if (!members.includes(id)) continue;
    const rest = members.filter((m) => m !== id);
    if (rest.length === 0) {
      await editor.deleteTeam(teamId);
      notes.push(`removed team ${teamId} (it had no other member)`);
      continue;
    }
    const leader = team.leader_agent === id ? rest[0] : team.leader_agent;
    await editor.patchTeam(teamId, { agents: rest, ...(leader !== undefined ? { leader_agent: leader } : {}) });
    notes.push(`left team ${teamId}${team.leader_agent === id ? ` (new leader: ${leader})` : ''}`);
  }
  return notes;
}

interface AddOptions {
  name?: string;
  provider?: string;
  model?: string;
  systemPrompt?: string;
  workingDirectory?: string;
  node?: string;
  sandbox?: 'off' | 'on' | 'required';
  config?: Record<string, unknown>;
  json?: boolean;
}

/** How long `agent add` waits for a just-started daemon's self-test, and how often it asks. */
const SELF_TEST_WAIT_MS = 20_000;
const SELF_TEST_POLL_MS = 50;

/** The runtime an agent on `provider` runs on (a custom provider's own runtime). */
function runtimeOf(settings: Settings, provider: string): string | undefined {
  return provider.startsWith('custom:') ? customProviderRuntime(ownEntry(settings.custom_providers, provider.slice('custom:'.length))) : providerRuntime(provider);
}

/**
 * The boundary's self-test on the machine that runs the agents: the running daemon's start-up
 * self-test, else the self-test run here (docs/sandbox.md); undefined: the daemon has none.
 */
async function machineBoundary(ctx: CliContext, editor: SettingsEditor): Promise<NewAgentMachine['boundary']> {
  const daemon = editor.online ? findDaemon(ctx) : undefined;
  if (daemon) {
    // A daemon that has just started may still run its self-test (`sandbox: null`): its answer is worth the wait.
    for (let waited = 0; ; waited += SELF_TEST_POLL_MS) {
      // A status the daemon did not give (a request that failed) is asked again, not taken for "no self-test".
      const status = await daemon.client.status().catch(() => undefined);
      const machine = status?.sandbox;
      if ((status !== undefined && machine !== null) || waited >= SELF_TEST_WAIT_MS) return machine ? { ok: machine.ok, reason: machine.reason } : undefined;
      if (waited === 0) process.stderr.write(style.dim("Waiting for the daemon's sandbox self-test (it has just started)…\n"));
      await new Promise((resolve) => setTimeout(resolve, SELF_TEST_POLL_MS));
    }
  }
  const settings = await editor.read();
  const check = await runSelfTest({ tinyHome: ctx.home, workspaceRoot: workspaceRoot(settings, ctx.env), env: ctx.env, secrets: daemonSecrets(settings, ctx.env) });
  return { ok: check.ok, reason: check.problem?.reason };
}

/** What a new agent starts with and what will not work (core's `newAgent`, as `POST /api/agents` says it). */
function printNewAgentNotes(made: NewAgent<Record<string, unknown>>): void {
  for (const w of made.warnings) println(style.yellow(`! ${newAgentNoteText(w)}`));
  for (const n of made.notes) println(style.dim(newAgentNoteText(n)));
}

/** `tinyagi agent add`: asks for what is missing on a terminal, then writes core's new agent (newAgent) and says what will not work yet. */
async function addAgent(idArg: string | undefined, options: AddOptions, cmd: Command): Promise<void> {
  const editor = settingsEditor(contextOf(cmd));
  const settings = await editor.read();
  const id = await askText(idArg, {
    flag: 'the agent id',
    message: 'Agent id',
    placeholder: 'coder',
    validate: (v) => (/^[a-z0-9][a-z0-9_-]{0,63}$/.test(v) ? undefined : 'use a-z, 0-9, "_" or "-"'),
  });
  if (ownEntry(settings.agents, id) !== undefined) throw new CliError('FAILED', `Agent "${id}" already exists.`, { hint: `Change it with \`tinyagi agent provider ${id} …\` or remove it first.` });
  const defaultProvider = settings.models?.provider !== undefined ? providerRuntime(settings.models.provider) : 'mock';
  const provider =
    options.provider ??
    (isInteractive()
      ? await askSelect(undefined, {
          flag: '--provider',
          message: 'Provider',
          choices: [...runtimeKinds.list().map((k) => ({ value: k.name, hint: k.title })), ...Object.keys(settings.custom_providers ?? {}).map((p) => ({ value: `custom:${p}` }))],
        })
      : defaultProvider);
  const config: Record<string, unknown> = {
    ...(options.config ?? {}),
    name: options.name ?? (options.config?.['name'] as string | undefined) ?? id,
    provider,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.systemPrompt !== undefined ? { system_prompt: options.systemPrompt } : {}),
    ...(options.workingDirectory !== undefined ? { working_directory: options.workingDirectory } : {}),
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
  };
  // The one definition of a new agent (core's newAgent): sandbox "on" for a CLI agent when the
  // boundary holds here (the daemon's self-test, else one run now), warm, asks. Existing agents are never changed.
  const ctx = contextOf(cmd);
  const needsBoundary = config['sandbox'] === undefined && runtimeRunsProcess(runtimeKinds.get(runtimeOf(settings, provider) ?? ''));
  const made = newAgent(settings, id, config, { boundary: needsBoundary ? await machineBoundary(ctx, editor) : undefined, env: ctx.env });
  await editor.createAgent(id, made.agent);
  if (options.json) return printJson({ id, ...made.agent });
  println(`Added agent ${style.bold(id)} (${provider}${options.model ? `, ${options.model}` : ''}${options.node ? `, on node ${options.node}` : ''}).`);
  printNewAgentNotes(made);
  // A sandboxed CLI whose login or own setup cannot be used inside the boundary: the one command that fixes it, now rather than at its first message.
  const login = made.agent['sandbox'] === 'on' || made.agent['sandbox'] === 'required' ? sandboxLoginHint(await editor.read(), id, ctx.env) : undefined;
  if (login !== undefined) println(style.yellow(`! ${login}`));
  println(style.dim(`Talk to it: tinyagi send --agent ${id} --wait "hello"`));
}

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('manage agents (list, add, show, remove, reset, provider, sandbox)');

  withJson(agent.command('list').alias('ls').description('list agents')).action(async (options: { json?: boolean }, cmd: Command) => {
    const settings = await settingsEditor(contextOf(cmd)).read();
    const agents = Object.entries(settings.agents ?? {}).map(([id, a]) => ({ id, ...agentView(a) }));
    if (options.json) return printJson(agents);
    // Where each agent runs, once any is placed on a node (several nodes on PostgreSQL).
    const placed = agents.some((a) => a.node !== undefined);
    printTable(
      ['ID', 'NAME', 'PROVIDER', 'MODEL', ...(placed ? ['NODE'] : [])],
      agents.map((a) => [a.id, a.name ?? '', providerOf(settings, a), a.model ?? style.dim('default'), ...(placed ? [a.node ?? style.dim('any')] : [])]),
      'No agents. Add one with `tinyagi agent add <id>`.',
    );
  });

  withJson(
    agent
      .command('add')
      .description('add an agent (asks for what is missing on a terminal)')
      .argument('[id]', 'agent id: a-z, 0-9, "_" or "-"', parseId)
      .option('--name <name>', 'display name')
      .option('--provider <provider>', `runtime or custom provider: ${providerHelp()}`, parseProvider)
      .option('--model <model>', "model (default: the provider CLI's default)")
      .option('--system-prompt <text>', 'extra instructions for this agent')
      .option('--working-directory <path>', 'workspace directory (default: <workspace>/<id>)')
      .option('--node <name>', 'the node that runs it, with several nodes on PostgreSQL (default: any node)')
      .addOption(new Option('--sandbox <mode>', 'run its CLI inside the boundary (docs/sandbox.md); default: on when the self-test passes on this machine').choices(['off', 'on', 'required']))
      .option('--config <json>', 'more agent settings as JSON, e.g. \'{"mock":{"reply":"hi"}}\'', parseAgentConfig),
  ).action(addAgent);

  withJson(agent.command('show').description("show an agent's settings").argument('<id>', 'agent id', parseId)).action(async (id: string, options: { json?: boolean }, cmd: Command) => {
    const settings = await settingsEditor(contextOf(cmd)).read();
    const a = requireAgent(settings, id);
    if (options.json) return printJson({ id, ...agentView(a) });
    printFields([
      ['id', id],
      ['name', a.name ?? ''],
      ['provider', providerOf(settings, a)],
      ['model', a.model ?? 'default'],
      ['working_directory', a.working_directory ?? `<workspace>/${id}`],
      ['node', a.node ?? 'any'],
      ['heartbeat', a.heartbeat ? JSON.stringify(a.heartbeat) : 'default'],
      [
        'teams',
        Object.entries(settings.teams ?? {})
          .filter(([, t]) => t.agents?.includes(id))
          .map(([t]) => t)
          .join(', ') || '-',
      ],
    ]);
    const rest = Object.fromEntries(Object.entries(a).filter(([k]) => !['name', 'provider', 'model', 'working_directory', 'node', 'heartbeat'].includes(k)));
    if (Object.keys(rest).length > 0) println(JSON.stringify(rest, null, 2));
  });

  agent
    .command('remove')
    .alias('rm')
    .description('remove an agent (it leaves its teams; its workspace is archived to <workspace>/.archive/)')
    .argument('<id>', 'agent id', parseId)
    .addOption(new Option('--purge', 'delete the workspace for good instead of archiving it').conflicts('keepWorkspace'))
    .option('--keep-workspace', 'leave the workspace directory where it is')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean; purge?: boolean; keepWorkspace?: boolean }, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      const settings = await editor.read();
      requireAgent(settings, id);
      const mode = options.purge ? 'delete' : options.keepWorkspace ? 'keep' : 'archive';
      await confirmOrRefuse(mode === 'delete' ? `Remove agent "${id}" and delete its workspace permanently?` : `Remove agent "${id}"?`, options.yes);
      const notes = await leaveTeams(editor, settings, id);
      const workspace = await editor.deleteAgent(id, mode);
      println(`Removed agent ${id}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}. ${describeWorkspace(workspace)}`);
    });

  agent
    .command('reset')
    .description('start fresh sessions: the next message to these agents opens a new CLI session')
    .argument('<ids...>', 'agent ids')
    .action(async (ids: string[], _options: unknown, cmd: Command) => {
      for (const id of ids) parseId(id);
      const { client } = connect(contextOf(cmd));
      for (const id of ids) {
        const result = await client.resetAgent({ params: { id } });
        println(`Reset ${id} (${result.sessionsCleared} session${result.sessionsCleared === 1 ? '' : 's'} cleared).`);
      }
    });

  withJson(
    agent
      .command('provider')
      .description("show or set an agent's provider and model")
      .argument('<id>', 'agent id', parseId)
      .argument('[provider]', `new runtime or custom provider: ${providerHelp()}`, parseProvider)
      .option('--model <model>', 'new model'),
  ).action(async (id: string, provider: string | undefined, options: { model?: string; json?: boolean }, cmd: Command) => {
    const editor = settingsEditor(contextOf(cmd));
    const settings = await editor.read();
    const current = requireAgent(settings, id);
    if (provider === undefined && options.model === undefined) {
      const view = { id, provider: providerOf(settings, current), model: current.model ?? null };
      if (options.json) return printJson(view);
      return println(`${id}: ${view.provider}${view.model ? ` / ${view.model}` : ''}`);
    }
    // A new provider without --model drops the old provider's model name (it would not apply).
    const patch: Record<string, unknown> = {
      ...(provider !== undefined ? { provider } : {}),
      ...(options.model !== undefined ? { model: options.model } : provider !== undefined && provider !== providerOf(settings, current) ? { model: null } : {}),
    };
    await editor.patchAgent(id, patch);
    if (options.json) return printJson({ id, ...patch });
    println(`${id} now uses ${provider ?? providerOf(settings, current)}${options.model ? ` / ${options.model}` : ''}.`);
  });

  withJson(
    agent
      .command('sandbox')
      .description("show or set whether an agent's CLI runs inside the boundary, or release its held workspace (docs/sandbox.md)")
      .argument('<id>', 'agent id', parseId)
      .addArgument(new Argument('[mode]', 'off, on, required, or release (its workspace, once you have looked at it)').choices(['off', 'on', 'required', 'release'])),
  ).action(async (id: string, mode: 'off' | 'on' | 'required' | 'release' | undefined, options: { json?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const editor = settingsEditor(ctx);
    const current = requireAgent(await editor.read(), id);
    if (mode === 'release') {
      const released = await releaseHold(ctx, id);
      if (options.json) return printJson({ id, ...released });
      return println(released.released ? `${id}: released ${released.folder}; its runs follow its sandbox setting (${current.sandbox ?? 'off'}) again.` : `${id}: ${released.folder} was not held.`);
    }
    if (mode !== undefined) await editor.patchAgent(id, { sandbox: mode });
    const { status, held } = await sandboxView(ctx, id);
    const view = { id, sandbox: mode ?? current.sandbox ?? 'off', ...(held ? { held } : {}), ...(status ? { status } : {}) };
    if (options.json) return printJson(view);
    // The running daemon's word: the state as the node that runs the agent sees it (docs/sandbox.md, "Several nodes").
    const state = mode === undefined && status !== undefined && status.setting !== 'off' ? `: ${sandboxStateText(status)}` : '';
    println(mode === undefined ? `${id}: sandbox ${view.sandbox}${state}` : `${id}: sandbox ${mode} (\`tinyagi status\` says whether it holds).`);
    if (held) println(style.yellow(heldLine(id, held)));
  });
}

/** What a held workspace means, and the command that lifts it (docs/sandbox.md, "What a confined run leaves behind"). */
export function heldLine(id: string, held: { folder: string; by: string[]; since: string }): string {
  const by = held.by.length > 0 ? ` for ${held.by.map((a) => `@${a}`).join(', ')}` : '';
  return `${id}'s workspace ${held.folder} is held: a confined run${by} worked in it (${held.since}), so its runs run confined until you look at what it left there and run \`tinyagi agent sandbox ${id} release\`.`;
}

/** The agent's sandbox status from the running daemon (as the node that runs it sees it), else only the hold on its workspace here. */
async function sandboxView(ctx: CliContext, id: string): Promise<{ status?: AgentSandboxStatusView | undefined; held?: AgentSandboxStatusView['held'] }> {
  const daemon = findDaemon(ctx);
  if (daemon) {
    const status = (await daemon.client.getAgent({ params: { id } })).sandboxStatus;
    return { status, held: status?.held };
  }
  const settings = await settingsEditor(ctx).read();
  // Only the hold on its workspace is read here: no machine check.
  return { held: agentSandboxView(settings, id, ctx.env, undefined).held };
}

/** Releases the agent's held workspace: through the running daemon, else here. */
async function releaseHold(ctx: CliContext, id: string): Promise<{ released: boolean; folder: string }> {
  const daemon = findDaemon(ctx);
  if (daemon) {
    const { released, folder } = await daemon.client.releaseAgentHold({ params: { id } });
    return { released, folder };
  }
  const folder = agentWorkspaceDir(await settingsEditor(ctx).read(), id, ctx.env);
  return { released: releaseFolder(ctx.env, folder), folder };
}
