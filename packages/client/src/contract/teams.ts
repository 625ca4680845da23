/** Teams (validated membership) and their chat rooms. */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, Int, IntParam, NullableStr, OkSchema, OptionalMax200, OptionalShortText, ShortText, Str, TimestampSchema } from './common.ts';

export const TeamConfigSchema = z.looseObject({
  name: OptionalMax200,
  agents: z.array(ShortText).max(100).optional(),
  leader_agent: OptionalShortText,
  reply_mode: z.enum(['each', 'aggregate']).optional(),
});
export type TeamConfig = z.infer<typeof TeamConfigSchema>;

export const TeamSchema = TeamConfigSchema.extend({ id: Str }).meta({ id: 'Team' });
export type Team = z.infer<typeof TeamSchema>;

/** A whole team as PUT or POST sends it: at least one member and a leader. */
const TeamBodySchema = TeamConfigSchema.extend({ agents: z.array(ShortText).min(1).max(100), leader_agent: ShortText });

export const ChatroomMessageSchema = z.object({
  id: Int,
  teamId: Str,
  fromAgent: Str,
  conversationId: NullableStr,
  content: Str,
  createdAt: TimestampSchema,
});
export type ChatroomMessage = z.infer<typeof ChatroomMessageSchema>;

export const teamsContract = {
  listTeams: route({ method: 'GET', path: '/api/teams', summary: 'Every team', tag: 'teams', response: z.array(TeamSchema) }),
  getTeam: route({ method: 'GET', path: '/api/teams/:id', summary: 'One team', tag: 'teams', params: IdParamsSchema, response: TeamSchema }),
  createTeam: route({
    method: 'POST',
    path: '/api/teams',
    summary: 'Create a team; an id an agent or a team already has is refused with ALREADY_EXISTS (PUT /api/teams/:id creates or replaces)',
    tag: 'teams',
    status: 201,
    body: TeamBodySchema.extend({ id: IdParamsSchema.shape.id }),
    response: z.object({ team: TeamSchema }),
  }),
  putTeam: route({
    method: 'PUT',
    path: '/api/teams/:id',
    summary: 'Create or replace a team (members must exist, the leader must be a member, ids unique across agents and teams)',
    tag: 'teams',
    params: IdParamsSchema,
    body: TeamBodySchema,
    response: z.object({ team: TeamSchema, created: Bool }),
  }),
  patchTeam: route({
    method: 'PATCH',
    path: '/api/teams/:id',
    summary: 'Merge-patch a team (arrays replace, null deletes a key)',
    tag: 'teams',
    params: IdParamsSchema,
    body: z.record(Str, z.unknown()),
    response: TeamSchema,
  }),
  deleteTeam: route({ method: 'DELETE', path: '/api/teams/:id', summary: 'Remove a team', tag: 'teams', params: IdParamsSchema, response: OkSchema }),
  getChatroom: route({
    method: 'GET',
    path: '/api/teams/:id/chatroom',
    summary:
      'Chat-room messages in id order. Without a cursor: the latest `limit`; `after`: those after it (never repeats); `before`: the newest `limit` older than it (paging back). `hasOlder` says whether older posts remain',
    tag: 'teams',
    params: IdParamsSchema,
    query: z
      .object({ after: IntParam(0).optional(), before: IntParam(1).optional(), limit: IntParam(1, 500).optional() })
      .refine((q) => q.after === undefined || q.before === undefined, { message: 'Page with `after` or with `before`, not both', path: ['before'] }),
    response: z.object({ messages: z.array(ChatroomMessageSchema), nextCursor: Int, hasOlder: Bool }),
  }),
  postChatroom: route({
    method: 'POST',
    path: '/api/teams/:id/chatroom',
    summary: 'Post to the team chat room (delivered to every member)',
    tag: 'teams',
    status: 201,
    params: IdParamsSchema,
    body: z.object({ message: z.string().min(1).max(100_000), from: OptionalShortText }),
    response: z.looseObject({ ok: z.literal(true) }),
  }),
} as const;
