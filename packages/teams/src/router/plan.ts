/**
 * Turns a parsed reply into the work it asks for: one teammate message per valid target (with
 * the shared context and provenance), chat-room posts with one delivery per other member the
 * chain may reach, and notes back to the sender about targets that could not be delivered (never
 * silence). Pure; guards run on the result before anything is enqueued.
 */
import type { Settings } from '@tinyagi/core';
import { undeliveredText, undeliveredWhat } from '@tinyagi/client';
import type { UndeliveredCode } from '@tinyagi/client/contract';
import { reachRefusal, type ReachChain } from '../guards/confinement.ts';
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
  /** The agents up the message's chain (`meta.callers`, `meta.confinedBy`): whom its sender's work may reach holds for them too. */
  callers?: readonly string[] | undefined;
  confinedBy?: readonly string[] | undefined;
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
  /** The agents whose confinement the sender's run took, its folder's hold included; absent, its messages'. */
  confinedBy?: readonly string[] | undefined;
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
  /** Each tag not delivered (as in `notes`), worded for the person the run answers: who wrote it, to whom, and why it stayed. */
  undelivered: string[];
  /** The same, as the data of its `handoff.undelivered` event. */
  refusals: Refusal[];
}

/** A tag, handoff or room delivery not made: to whom (null: a room that is no team), and why. */
export interface Refusal {
  kind: 'mention' | 'chatroom';
  toAgent: string | null;
  room: string | null;
  code: UndeliveredCode;
  reason: string;
}

/** A tag not delivered: the sender's note, the same for a person, and its event's data. */
type Refuse = (refusal: Omit<Refusal, 'reason'>, forSender: string, forPerson?: string) => void;

/** The sender and the agents up the chain of the messages its run answers. */
function chainOfRun(ctx: RouteContext): ReachChain {
  return { from: ctx.fromAgent, callers: ctx.incoming.flatMap((m) => m.callers ?? []), confinedBy: ctx.confinedBy ?? ctx.incoming.flatMap((m) => m.confinedBy ?? []) };
}

export function planRoutes(parsed: ParsedReply, ctx: RouteContext): RoutePlan {
  const plan: RoutePlan = { deliveries: [], roomPosts: [], notes: [], undelivered: [], refusals: [] };
  const refuse: Refuse = (refusal, forSender, forPerson = forSender) => {
    plan.notes.push(`Your ${undeliveredWhat(refusal)} was not delivered: ${forSender}`);
    plan.undelivered.push(undeliveredText({ ...refusal, fromAgent: ctx.fromAgent, reason: forPerson }));
    plan.refusals.push({ ...refusal, reason: forPerson });
  };
  const chain = chainOfRun(ctx);
  const agents = ctx.settings.agents ?? {};
  const hop = Math.max(0, ...ctx.incoming.map((m) => m.hop)) + 1;
  const crossTeam = ownEntry(agents, ctx.fromAgent)?.cross_team === true;
  const contextTeams = ctx.teamId ? [ctx.teamId] : teamsOf(ctx.settings, ctx.fromAgent);
  const members = [...new Set(contextTeams.flatMap((id) => teamMembers(ctx.settings, id)))];

  for (const mention of parsed.mentions) {
    const target = mention.target;
    const to = { kind: 'mention' as const, toAgent: target, room: null };
    if (ownEntry(agents, target) === undefined) {
      const teammates = members.filter((m) => m !== ctx.fromAgent).map((m) => `@${m}`);
      refuse({ ...to, code: 'AGENT_NOT_FOUND' }, `there is no agent with that id${teammates.length > 0 ? ` (your teammates: ${teammates.join(', ')})` : ''}.`, 'there is no agent with that id.');
      continue;
    }
    if (!crossTeam && !members.includes(target)) {
      if (ctx.teamId) {
        refuse(
          { ...to, code: 'NOT_A_MEMBER' },
          `@${target} is not a member of #${ctx.teamId}, the team this conversation runs in.`,
          `@${target} is not a member of #${ctx.teamId}, the team this conversation runs in (\`tinyagi team add-agent ${ctx.teamId} ${target}\` adds it).`,
        );
      } else if (contextTeams.length > 0) {
        const teams = contextTeams.map((t) => `#${t}`).join(', ');
        refuse({ ...to, code: 'NOT_A_MEMBER' }, `@${target} is not a member of any of your teams (${teams}).`, `@${target} is not a member of any of @${ctx.fromAgent}'s teams (${teams}).`);
      } else {
        refuse(
          { ...to, code: 'NOT_A_MEMBER' },
          'you are not in a team, so there is nobody to hand work to.',
          `@${ctx.fromAgent} is in no team, so it has nobody to hand work to (\`tinyagi team add\` makes one).`,
        );
      }
      continue;
    }
    const refused = reachRefusal(ctx.settings, chain, target);
    if (refused) {
      refuse({ ...to, code: 'CALL_NOT_ALLOWED' }, refused.message);
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

  for (const post of parsed.chatroomPosts) planRoomPost(plan, ctx, chain, refuse, { ...post, hop });
  return plan;
}

/** One chat-room post: stored in the room, delivered to each other member the chain may reach; the others are refused by name. */
function planRoomPost(plan: RoutePlan, ctx: RouteContext, chain: ReachChain, refuse: Refuse, post: { teamId: string; message: string; hop: number }): void {
  const room = post.teamId;
  const roomMembers = teamMembers(ctx.settings, room);
  if (ownEntry(ctx.settings.teams, room) === undefined) {
    refuse({ kind: 'chatroom', toAgent: null, room, code: 'TEAM_NOT_FOUND' }, 'there is no team with that id.');
    return;
  }
  if (!roomMembers.includes(ctx.fromAgent)) {
    refuse({ kind: 'chatroom', toAgent: null, room, code: 'NOT_A_MEMBER' }, `you are not a member of #${room}.`, `@${ctx.fromAgent} is not a member of #${room}.`);
    return;
  }
  plan.roomPosts.push({ teamId: room, text: post.message });
  for (const member of roomMembers) {
    if (member === ctx.fromAgent) continue;
    const refused = reachRefusal(ctx.settings, chain, member);
    if (refused) {
      refuse({ kind: 'chatroom', toAgent: member, room, code: 'CALL_NOT_ALLOWED' }, refused.message);
      continue;
    }
    plan.deliveries.push({
      kind: 'chatroom',
      target: member,
      hop: post.hop,
      pingPongCount: 0,
      teamId: room,
      room,
      body: post.message,
      content: chatroomMessage({ from: ctx.fromAgent, teamId: room, text: post.message }),
    });
  }
}
