/**
 * `tinyagi team list|add|show|remove|add-agent|remove-agent|visualize`.
 */
import type { Command } from 'commander';
import { REPLY_MODES, ownEntry, requireAgent, requireTeam } from '../core-internal.ts';
import { settingsEditor } from '../settings-editor.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { printFields, printJson, printTable, println } from '../output/print.ts';
import { askMultiSelect, askSelect, askText, confirmOrRefuse } from '../output/prompts.ts';
import { isInteractive, style } from '../output/style.ts';
import { choice, contextOf, parseId, parseIdList, withJson } from './options.ts';
import { visualize } from './visualize.ts';

interface AddOptions {
  name?: string;
  agents?: string[];
  leader?: string;
  replyMode?: 'each' | 'aggregate';
  json?: boolean;
}

export function registerTeamCommands(program: Command): void {
  const team = program.command('team').description('manage teams (list, add, show, remove, add-agent, remove-agent, visualize)');

  withJson(team.command('list').alias('ls').description('list teams')).action(async (options: { json?: boolean }, cmd: Command) => {
    const settings = await settingsEditor(contextOf(cmd)).read();
    const teams = Object.entries(settings.teams ?? {}).map(([id, t]) => ({ id, ...t }));
    if (options.json) return printJson(teams);
    printTable(
      ['ID', 'NAME', 'LEADER', 'MEMBERS'],
      teams.map((t) => [t.id, t.name ?? '', t.leader_agent ?? '', (t.agents ?? []).join(', ')]),
      'No teams. Create one with `tinyagi team add <id> --agents a,b --leader a`.',
    );
  });

  withJson(
    team
      .command('add')
      .description('create a team (asks for what is missing on a terminal)')
      .argument('[id]', 'team id', parseId)
      .option('--name <name>', 'display name')
      .option('--agents <ids>', 'comma-separated member agent ids', parseIdList)
      .option('--leader <id>', 'the member that receives messages sent to the team (default: the first member)', parseId)
      .option('--reply-mode <mode>', `each (every reply as it arrives) or aggregate (one combined reply)`, choice(REPLY_MODES)),
  ).action(async (idArg: string | undefined, options: AddOptions, cmd: Command) => {
    const editor = settingsEditor(contextOf(cmd));
    const settings = await editor.read();
    const known = Object.keys(settings.agents ?? {});
    const id = await askText(idArg, { flag: 'the team id', message: 'Team id', placeholder: 'dev' });
    parseId(id);
    if (ownEntry(settings.teams, id) !== undefined) throw new CliError('FAILED', `Team "${id}" already exists.`, { hint: 'Use `tinyagi team add-agent` to change its members.' });
    const agents = await askMultiSelect(options.agents, { flag: '--agents', message: 'Members', choices: known, min: 1 });
    if (agents.length === 0) throw usageError('A team needs at least one member.');
    const leader =
      options.leader ?? (agents.length > 1 && isInteractive() ? await askSelect<string>(undefined, { flag: '--leader', message: 'Leader', choices: agents.map((a) => ({ value: a })) }) : agents[0]);
    if (leader === undefined) throw usageError('A team needs a leader.');
    // Unknown members, a leader who is not a member and an id taken by an agent are refused by core's settings rules.
    const config = {
      name: options.name ?? id,
      agents,
      leader_agent: leader,
      ...(options.replyMode !== undefined ? { reply_mode: options.replyMode } : {}),
    };
    await editor.createTeam(id, config);
    if (options.json) return printJson({ id, ...config });
    println(`Created team ${style.bold(id)}: ${agents.join(', ')} (leader ${leader}).`);
    println(style.dim(`Talk to it: tinyagi send --team ${id} --wait "…"`));
  });

  withJson(team.command('show').description("show a team's settings").argument('<id>', 'team id', parseId)).action(async (id: string, options: { json?: boolean }, cmd: Command) => {
    const settings = await settingsEditor(contextOf(cmd)).read();
    const t = requireTeam(settings, id);
    if (options.json) return printJson({ id, ...t });
    printFields([
      ['id', id],
      ['name', t.name ?? ''],
      ['leader', t.leader_agent ?? ''],
      ['members', (t.agents ?? []).join(', ')],
      ['reply_mode', t.reply_mode ?? 'each'],
    ]);
  });

  team
    .command('remove')
    .alias('rm')
    .description('remove a team (its agents stay)')
    .argument('<id>', 'team id', parseId)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (id: string, options: { yes?: boolean }, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      requireTeam(await editor.read(), id);
      await confirmOrRefuse(`Remove team "${id}"?`, options.yes);
      await editor.deleteTeam(id);
      println(`Removed team ${id}.`);
    });

  team
    .command('add-agent')
    .aliases(['agent-add', 'member-add'])
    .description('add an agent to a team')
    .argument('<team>', 'team id', parseId)
    .argument('<agent>', 'agent id', parseId)
    .action(async (teamId: string, agentId: string, _options: unknown, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      const settings = await editor.read();
      const t = requireTeam(settings, teamId);
      requireAgent(settings, agentId);
      const members = t.agents ?? [];
      if (members.includes(agentId)) return println(`${agentId} is already in ${teamId}.`);
      await editor.patchTeam(teamId, { agents: [...members, agentId] });
      println(`Added ${agentId} to ${teamId}.`);
    });

  team
    .command('remove-agent')
    .aliases(['agent-remove', 'member-remove'])
    .description('remove an agent from a team (the last member cannot be removed)')
    .argument('<team>', 'team id', parseId)
    .argument('<agent>', 'agent id', parseId)
    .option('--leader <id>', 'the leader afterwards, one of the remaining members (default: unchanged, or the next member when removing the leader)', parseId)
    .action(async (teamId: string, agentId: string, options: { leader?: string }, cmd: Command) => {
      const editor = settingsEditor(contextOf(cmd));
      const t = requireTeam(await editor.read(), teamId);
      const members = t.agents ?? [];
      if (!members.includes(agentId)) throw new CliError('FAILED', `${agentId} is not a member of ${teamId}.`);
      const rest = members.filter((m) => m !== agentId);
      if (rest.length === 0) throw new CliError('FAILED', `${agentId} is the last member of ${teamId}.`, { hint: `Remove the team instead: tinyagi team remove ${teamId}` });
      const leader = options.leader ?? (t.leader_agent === agentId ? rest[0] : t.leader_agent);
      if (leader !== undefined && !rest.includes(leader)) throw usageError(`The leader must be one of the remaining members: ${rest.join(', ')}.`);
      await editor.patchTeam(teamId, { agents: rest, ...(leader !== undefined ? { leader_agent: leader } : {}) });
      println(`Removed ${agentId} from ${teamId}${leader !== t.leader_agent ? ` (new leader: ${leader})` : ''}.`);
    });

  withJson(
    team.command('visualize').alias('viz').description('live dashboard of a team (or every team); a text tree when piped or with --json').argument('[id]', 'team id (default: every team)', parseId),
  ).action(async (id: string | undefined, options: { json?: boolean }, cmd: Command) => visualize(contextOf(cmd), id, options));
}
