/**
 * `tinyagi visualize` / `team visualize [id]`: the live Ink TUI when @tinyagi/visualizer is
 * installed; otherwise a text view of the teams and their latest conversation's run tree.
 */
import type { Command } from 'commander';
import { requireTeam } from '@tinyagi/core';
import type { CliContext } from '../context.ts';
import { findDaemon } from '../daemon/connection.ts';
import { settingsEditor } from '../settings-editor.ts';
import { printJson, println } from '../output/print.ts';
import { printRunTree } from '../output/run-tree.ts';
import { style } from '../output/style.ts';
import { contextOf, parseId, withJson } from './options.ts';

interface VisualizerModule {
  runVisualizer(options: { baseUrl: string; token?: string; team?: string }): Promise<void>;
}

async function loadVisualizer(): Promise<VisualizerModule | undefined> {
  try {
    // Optional dependency: the TUI package is not required to use the CLI.
    const specifier = '@tinyagi/visualizer';
    return (await import(specifier)) as VisualizerModule;
  } catch {
    return undefined;
  }
}

export async function visualize(ctx: CliContext, teamId: string | undefined, options: { json?: boolean }): Promise<void> {
  const settings = await settingsEditor(ctx).read();
  const teams = Object.entries(settings.teams ?? {}).filter(([id]) => teamId === undefined || id === teamId);
  if (teamId !== undefined && teams.length === 0) requireTeam(settings, teamId);
  const daemon = findDaemon(ctx);
  const tui = options.json || !process.stdout.isTTY ? undefined : await loadVisualizer();
  if (tui !== undefined && daemon !== undefined) {
    const { readApiToken } = await import('../daemon/api-token.ts');
    const token = readApiToken(ctx.paths.apiToken, ctx.env);
    return tui.runVisualizer({ baseUrl: daemon.apiUrl, ...(token ? { token } : {}), ...(teamId ? { team: teamId } : {}) });
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
  withJson(program.command('visualize').description('live view of teams and their run trees (text view when the TUI is not installed)').argument('[team]', 'team id', parseId)).action(
    async (team: string | undefined, options: { json?: boolean }, cmd: Command) => visualize(contextOf(cmd), team, options),
  );
}
