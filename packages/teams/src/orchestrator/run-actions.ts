/**
 * Run actions (docs/mcp.md): what an agent asks its run to do through a tool (TinyAGI's MCP
 * tools) instead of a tag in its reply — hand off to teammates, post to a team's chat room, send
 * a file — and what it asks while its turn runs (`ask_human`). Declared actions are held with the running attempt (`ActiveRun.declared`) and merged into the
 * parsed answer at the route stage (route.ts), so the same router, guards, file confinement and commit apply as for
 * tags; an attempt that fails drops them (its retry's tools declare them again).
 *
 * Declaring checks only what can be known before the answer (the run is running here and answers
 * the queue, the teammates and the team exist, the message is not empty); the router decides the
 * rest when the turn ends, as for a tag.
 */
import { TinyError, type Settings } from '@tinyagi/core';
import { ownEntry } from '../core-internal.ts';
import type { RunAction } from '@tinyagi/client/contract';
import type { ParsedReply } from '../protocol/tags.ts';
import { teamMembers } from '../protocol/addressing.ts';
import { assertMayReach, reachRefusal, type ReachChain } from '../guards/confinement.ts';
import type { ActiveRun, DeclaredActions } from './context.ts';
import type { HumanAnswer, HumanQuestion } from '../approvals/desk.ts';

/** At most this many actions per attempt: a looping agent cannot grow the run without bound. */
const MAX_ACTIONS = 100;

/** Records `action` for the running attempt; returns what will happen, for the agent to read. */
export function declareAction(active: ActiveRun | undefined, runId: string, settings: Settings, action: RunAction): string {
  if (!active) throw new TinyError('INVALID_STATE', `Run ${runId} is not running on this node: its actions can only be declared while its turn runs.`);
  if (active.spawned) {
    throw new TinyError('INVALID_STATE', 'A sub-agent run answers its caller only: return what you want passed on in your reply to the agent that called you.');
  }
  active.declared ??= { handoffs: [], chatroomPosts: [], files: [] };
  const declared = active.declared;
  if (declared.handoffs.length + declared.chatroomPosts.length + declared.files.length >= MAX_ACTIONS) {
    throw new TinyError('INVALID_STATE', `This turn has declared ${MAX_ACTIONS} actions already, the most one turn may.`);
  }
  switch (action.type) {
    case 'handoff': {
      const to = [...new Set(action.to.map((id) => id.replace(/^@/, '').toLowerCase()))];
      const unknown = to.filter((id) => !ownEntry(settings.agents, id));
      if (unknown.length > 0) throw new TinyError('AGENT_NOT_FOUND', `No agent ${unknown.map((id) => `@${id}`).join(', ')}.`, { hint: `Agents: ${Object.keys(settings.agents ?? {}).join(', ')}.` });
      if (to.includes(active.agentId)) throw new TinyError('INVALID_STATE', 'An agent cannot hand work to itself.');
      for (const id of to) assertMayReach(settings, chainOf(active), id);
      declared.handoffs.push({ to, message: action.message });
      return `Handed off to ${to.map((id) => `@${id}`).join(', ')} when your turn ends (the team's routing rules and limits apply, as for a [@…] tag).`;
    }
    case 'chatroom': {
      const teamId = action.team.replace(/^#/, '').toLowerCase();
      if (!ownEntry(settings.teams, teamId)) throw new TinyError('TEAM_NOT_FOUND', `No team #${teamId}.`);
      if (!teamMembers(settings, teamId).includes(active.agentId)) throw new TinyError('NOT_A_MEMBER', `@${active.agentId} is not a member of #${teamId}.`);
      declared.chatroomPosts.push({ teamId, message: action.message });
      return `Posted to #${teamId}'s chat room when your turn ends.${unreachedNote(settings, active, teamId)}`;
    }
    case 'send_file':
      declared.files.push(action.path);
      return 'The file is sent with your answer when your turn ends (files inside your workspace or TINYAGI_HOME/files only).';
  }
}

/** The running run's agent and the agents up its chain. */
function chainOf(active: ActiveRun): ReachChain {
  return { from: active.agentId, callers: active.callers, confinedBy: active.confinedBy };
}

/** The members of a room a post will not be delivered to (its chain may not reach them), in words; empty when none. */
function unreachedNote(settings: Settings, active: ActiveRun, teamId: string): string {
  const refused = teamMembers(settings, teamId).flatMap((member) => {
    const refusal = member === active.agentId ? undefined : reachRefusal(settings, chainOf(active), member);
    return refusal ? [{ member, message: refusal.message }] : [];
  });
  if (refused.length === 0) return '';
  return ` Not delivered to ${refused.map((r) => `@${r.member}`).join(', ')}: ${refused.map((r) => r.message).join(' ')}`;
}

/**
 * `ask_human`: the running run asks the person and waits (the desk's askHuman with the run's own
 * session and cancel signal, and `signal`: the asker went away). A sub-agent run may ask too.
 */
export function askHumanFor(active: ActiveRun | undefined, runId: string, question: HumanQuestion, signal?: AbortSignal): Promise<HumanAnswer> {
  if (!active?.askHuman) return Promise.reject(new TinyError('INVALID_STATE', `Run ${runId} is not running on this node: it can ask a person only while its turn runs.`));
  return active.askHuman(question, signal);
}

/** The parsed answer with the declared handoffs and posts added (a target named by a tag and a tool gets both bodies, tag first). */
export function withDeclared(parsed: ParsedReply, declared: DeclaredActions | undefined, self: string): ParsedReply {
  if (!declared || (declared.handoffs.length === 0 && declared.chatroomPosts.length === 0)) return parsed;
  const mentions = parsed.mentions.map((m) => ({ ...m }));
  for (const handoff of declared.handoffs) {
    for (const target of handoff.to) {
      if (target === self) continue;
      const existing = mentions.find((m) => m.target === target);
      if (existing) existing.message = `${existing.message}\n\n${handoff.message}`;
      else mentions.push({ target, message: handoff.message });
    }
  }
  const chatroomPosts = parsed.chatroomPosts.map((p) => ({ ...p }));
  for (const post of declared.chatroomPosts) {
    const existing = chatroomPosts.find((p) => p.teamId === post.teamId);
    if (existing) existing.message = `${existing.message}\n\n${post.message}`;
    else chatroomPosts.push({ ...post });
  }
  return { ...parsed, mentions, chatroomPosts };
}
