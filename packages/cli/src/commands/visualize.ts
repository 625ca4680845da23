/**
 * `tinyagi visualize` / `team visualize [id]`: the live dashboard (@tinyagi/visualizer, loaded
 * only here so other commands stay fast) when both ends are a terminal and the daemon runs;
 * otherwise (piped, --json, daemon down) a text view of the teams and their latest run tree.
 */
import type { Command } from 'commander';
import { requireTeam } from '../core-internal.ts';
import type { CliContext } from '../context.ts';
import { findDaemon } from '../daemon/connection.ts';
import { settingsEditor } from '../settings-editor.ts';
import { printJson, println } from '../output/print.ts';
import { printRunTree } from '../output/run-tree.ts';
import { style } from '../output/style.ts';
import { loadVisualizer } from '../ui/load-visualizer.ts';
import { contextOf, parseId, withJson } from './options.ts';

export async function visualize(ctx: CliContext, teamId: string | undefined, options: { json?: boolean }): Promise<void> {
  const settings = await settingsEditor(ctx).read();
  const teams = Object.entries(settings.teams ?? {}).filter(([id]) => teamId === undefined || id === teamId);
  if (teamId !== undefined && teams.length === 0) requireTeam(settings, teamId);
  const daemon = findDaemon(ctx, 'the TUI');
  if (!options.json && daemon !== undefined && process.stdout.isTTY === true && process.stdin.isTTY === true) {
    const { runVisualizer } = await loadVisualizer();
    return runVisualizer({ client: daemon.client, ...(teamId ? { team: teamId } : {}) });
  }
  const views = [];
  for (const [id, team] of teams) {
    const latest = daemon ? (await daemon.client.listConversations({ query: { team: id, limit: 1 } }))[0] : undefined;
    const tree = latest && daemon ? await daemon.client.getConversation({ params: { id: latest.id } }) : undefined;
    views.push({ id, team, tree });
  }
  if (options.json) return printJson(views.map((v) => ({ id: v.id, ...v.team, latestConversation: v.tree ?? null })));
  if (views.length === 0) return println('No teams yet. Create one with `tinyagi team add`.');
  for (const { id, team, tree } of views) {
    println(`${style.bold(`#${id}`)} ${team.name && team.name !== id ? `(${team.name}) ` : ''}`);
    for (const member of team.agents ?? []) println(`  ${member === team.leader_agent ? style.yellow('★') : '·'} @${member}${member === team.leader_agent ? style.dim(' leader') : ''}`);
    if (tree) {
      println(style.dim('  latest conversation:'));
      printRunTree(tree);
    }
    println();
  }
  if (daemon === undefined) println(style.dim('The daemon is not running: start it to see live conversations.'));
}

export function registerVisualizeCommand(program: Command): void {
  withJson(program.command('visualize').description('live dashboard of agents, handoffs and run trees (a text view when piped or with --json)').argument('[team]', 'team id', parseId)).action(
    async (team: string | undefined, options: { json?: boolean }, cmd: Command) => visualize(contextOf(cmd), team, options),
  );
}
