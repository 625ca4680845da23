/**
 * Turns a parsed reply into the work it asks for: one teammate message per valid target (with
 * the shared context and provenance), chat-room posts with one delivery per other member, and
 * notes back to the sender about targets that could not be delivered (never silence). Pure;
 * guards run on the result before anything is enqueued.
 */
import type { Settings } from '@tinyagi/core';
import { callRefusal, mayCall } from '../guards/confinement.ts';
import { ownEntry } from '../core-internal.ts';
import { nextPingPong, type PingPongState } from '../guards/ping-pong.ts';
import type { GuardedDelivery } from '../guards/dispatch.ts';
import { teamMembers, teamsOf } from '../protocol/addressing.ts';
import type { ParsedReply } from '../protocol/tags.ts';
import { chatroomMessage, teammateMessage } from './provenance.ts';

/** One message the sender's batch received, as far as routing cares. */
export interface IncomingProvenance {
  from: string | null;
  hop: number;
  pingPong?: PingPongState | undefined;
}

export interface RouteContext {
  settings: Settings;
  fromAgent: string;
  /**
   * The team context of the run (kept from `@team` addressing, or the agent's only team), or
   * null: then every team of the sending agent is its context.
   */
  teamId: string | null;
  incoming: readonly IncomingProvenance[];
}

export interface PlannedDelivery extends GuardedDelivery {
  /** The teammate's team context. */
  teamId: string | null;
  content: string;
  /** The message body without header (transcripts). */
  body: string;
  pingPong?: PingPongState;
  /** Chat-room deliveries: the room. */
  room?: string;
}

export interface RoomPost {
  teamId: string;
  text: string;
}

export interface RoutePlan {
  deliveries: PlannedDelivery[];
  roomPosts: RoomPost[];
  /** Shown to the sender on its next turn. */
  notes: string[];
}

export function planRoutes(parsed: ParsedReply, ctx: RouteContext): RoutePlan {
  const plan: RoutePlan = { deliveries: [], roomPosts: [], notes: [] };
  const agents = ctx.settings.agents ?? {};
  const hop = Math.max(0, ...ctx.incoming.map((m) => m.hop)) + 1;
  const crossTeam = ownEntry(agents, ctx.fromAgent)?.cross_team === true;
  const contextTeams = ctx.teamId ? [ctx.teamId] : teamsOf(ctx.settings, ctx.fromAgent);
  const members = [...new Set(contextTeams.flatMap((id) => teamMembers(ctx.settings, id)))];

  for (const mention of parsed.mentions) {
    const target = mention.target;
    if (ownEntry(agents, target) === undefined) {
      plan.notes.push(
        `Your message to @${target} was not delivered: there is no agent with that id${
          members.length > 0
            ? ` (your teammates: ${members
                .filter((m) => m !== ctx.fromAgent)
                .map((m) => `@${m}`)
                .join(', ')})`
            : ''
        }.`,
      );
      continue;
    }
    if (!crossTeam && !members.includes(target)) {
      plan.notes.push(
        ctx.teamId
          ? `Your message to @${target} was not delivered: @${target} is not a member of #${ctx.teamId}, the team this conversation runs in.`
          : contextTeams.length > 0
            ? `Your message to @${target} was not delivered: @${target} is not a member of any of your teams (${contextTeams.map((t) => `#${t}`).join(', ')}).`
            : `Your message to @${target} was not delivered: you are not in a team, so there is nobody to hand work to.`,
      );
      continue;
    }
    if (!mayCall(ctx.settings, ctx.fromAgent, target)) {
      plan.notes.push(`Your message to @${target} was not delivered: ${callRefusal(ctx.settings, ctx.fromAgent, target)}`);
      continue;
    }
    const fromTarget = [...ctx.incoming].reverse().find((m) => m.from === target);
    const pingPong = nextPingPong(fromTarget?.pingPong, fromTarget ? target : null, ctx.fromAgent, target);
    // The target works in the team it shares with the sender (the run's team when it has one).
    const targetTeam = contextTeams.find((id) => teamMembers(ctx.settings, id).includes(target)) ?? null;
    plan.deliveries.push({
      kind: 'mention',
      target,
      hop,
      pingPongCount: pingPong.count,
      pingPong,
      teamId: targetTeam,
      body: mention.message,
      content: teammateMessage({ from: ctx.fromAgent, teamId: ctx.teamId, hop, sharedContext: parsed.sharedContext, body: mention.message }),
    });
  }

  for (const post of parsed.chatroomPosts) {
    const room = post.teamId;
    const roomMembers = teamMembers(ctx.settings, room);
    if (ownEntry(ctx.settings.teams, room) === undefined) {
      plan.notes.push(`Your chat-room post to #${room} was not delivered: there is no team with that id.`);
      continue;
    }
    if (!roomMembers.includes(ctx.fromAgent)) {
      plan.notes.push(`Your chat-room post to #${room} was not delivered: you are not a member of #${room}.`);
      continue;
    }
    plan.roomPosts.push({ teamId: room, text: post.message });
    for (const member of roomMembers) {
      if (member === ctx.fromAgent) continue;
      plan.deliveries.push({
        kind: 'chatroom',
        target: member,
        hop,
        pingPongCount: 0,
        teamId: room,
        room,
        body: post.message,
        content: chatroomMessage({ from: ctx.fromAgent, teamId: room, text: post.message }),
      });
    }
  }
  return plan;
}
