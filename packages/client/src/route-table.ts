/**
 * What the REST client needs of each route at run time (method, path, whether it sends a body,
 * whether it answers text), without the zod schemas: the client's own entry stays zod-free and
 * small in a browser bundle. The `satisfies` below ties it to the contract, so a route added,
 * moved or given a body in the contract is a type error here until this table follows
 * (test/route-table.test.ts also compares them at run time).
 */
import type { z } from 'zod';
import type { ApiContract, RouteName } from './contract/contract.ts';

type RouteShape<D> = { method: D extends { method: infer M } ? M : never; path: D extends { path: infer P } ? P : never } & (D extends { produces: 'text' }
  ? { produces: 'text' }
  : { produces?: never }) &
  (D extends { body: z.ZodType } ? { body: true } : { body?: never });

export interface RouteEntry {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  produces?: 'text';
  body?: true;
}

export const ROUTE_TABLE = {
  health: { method: 'GET', path: '/api/health' },
  status: { method: 'GET', path: '/api/status' },
  restartServices: { method: 'POST', path: '/api/services/restart' },
  listChannels: { method: 'GET', path: '/api/channels' },
  channelLogin: { method: 'GET', path: '/api/channels/:name/login' },
  channelAction: { method: 'POST', path: '/api/channels/:name/:action' },
  logs: { method: 'GET', path: '/api/logs' },
  createTicket: { method: 'POST', path: '/api/auth/ticket' },
  createLoginCode: { method: 'POST', path: '/api/auth/login-code' },
  createSession: { method: 'POST', path: '/api/auth/session', body: true },
  getSession: { method: 'GET', path: '/api/auth/session' },
  deleteSession: { method: 'DELETE', path: '/api/auth/session' },
  sendMessage: { method: 'POST', path: '/api/message', body: true },
  getMessage: { method: 'GET', path: '/api/messages/:id' },
  cancelMessage: { method: 'POST', path: '/api/messages/:id/cancel' },
  queueStatus: { method: 'GET', path: '/api/queue/status' },
  queueAgents: { method: 'GET', path: '/api/queue/agents' },
  queueProcessing: { method: 'GET', path: '/api/queue/processing' },
  queueDead: { method: 'GET', path: '/api/queue/dead' },
  retryDead: { method: 'POST', path: '/api/queue/dead/:id/retry' },
  purgeDead: { method: 'DELETE', path: '/api/queue/dead' },
  deleteDead: { method: 'DELETE', path: '/api/queue/dead/:id' },
  listOutbox: { method: 'GET', path: '/api/outbox' },
  claimOutbox: { method: 'POST', path: '/api/outbox/claim', body: true },
  ackOutbox: { method: 'POST', path: '/api/outbox/:id/ack' },
  failOutbox: { method: 'POST', path: '/api/outbox/:id/fail', body: true },
  sendResponse: { method: 'POST', path: '/api/responses', body: true },
  listConversations: { method: 'GET', path: '/api/conversations' },
  getConversation: { method: 'GET', path: '/api/conversations/:id' },
  getTranscript: { method: 'GET', path: '/api/conversations/:id/transcript' },
  getTranscriptMarkdown: { method: 'GET', path: '/api/conversations/:id/transcript.md', produces: 'text' },
  getRun: { method: 'GET', path: '/api/runs/:id' },
  cancelRun: { method: 'POST', path: '/api/runs/:id/cancel' },
  cancelConversation: { method: 'POST', path: '/api/conversations/:id/cancel' },
  steerRun: { method: 'POST', path: '/api/runs/:id/steer', body: true },
  spawnRun: { method: 'POST', path: '/api/runs/:id/spawn', body: true },
  listAgents: { method: 'GET', path: '/api/agents' },
  getAgent: { method: 'GET', path: '/api/agents/:id' },
  putAgent: { method: 'PUT', path: '/api/agents/:id', body: true },
  patchAgent: { method: 'PATCH', path: '/api/agents/:id', body: true },
  deleteAgent: { method: 'DELETE', path: '/api/agents/:id' },
  resetAgent: { method: 'POST', path: '/api/agents/:id/reset' },
  agentMessages: { method: 'GET', path: '/api/agents/:id/messages' },
  getSystemPrompt: { method: 'GET', path: '/api/agents/:id/system-prompt' },
  putSystemPrompt: { method: 'PUT', path: '/api/agents/:id/system-prompt', body: true },
  getMemory: { method: 'GET', path: '/api/agents/:id/memory' },
  getHeartbeat: { method: 'GET', path: '/api/agents/:id/heartbeat' },
  putHeartbeat: { method: 'PUT', path: '/api/agents/:id/heartbeat', body: true },
  getSkills: { method: 'GET', path: '/api/agents/:id/skills' },
  listTeams: { method: 'GET', path: '/api/teams' },
  getTeam: { method: 'GET', path: '/api/teams/:id' },
  putTeam: { method: 'PUT', path: '/api/teams/:id', body: true },
  patchTeam: { method: 'PATCH', path: '/api/teams/:id', body: true },
  deleteTeam: { method: 'DELETE', path: '/api/teams/:id' },
  getChatroom: { method: 'GET', path: '/api/teams/:id/chatroom' },
  postChatroom: { method: 'POST', path: '/api/teams/:id/chatroom', body: true },
  listProviders: { method: 'GET', path: '/api/providers' },
  putProvider: { method: 'PUT', path: '/api/providers/:name', body: true },
  listCustomProviders: { method: 'GET', path: '/api/custom-providers' },
  getCustomProvider: { method: 'GET', path: '/api/custom-providers/:id' },
  putCustomProvider: { method: 'PUT', path: '/api/custom-providers/:id', body: true },
  deleteCustomProvider: { method: 'DELETE', path: '/api/custom-providers/:id' },
  getSettings: { method: 'GET', path: '/api/settings' },
  patchSettings: { method: 'PATCH', path: '/api/settings', body: true },
  getSecretStatus: { method: 'GET', path: '/api/settings/secrets' },
  listPairings: { method: 'GET', path: '/api/pairing' },
  requestPairing: { method: 'POST', path: '/api/pairing/request', body: true },
  approvePairing: { method: 'POST', path: '/api/pairing/approve', body: true },
  dismissPairing: { method: 'DELETE', path: '/api/pairing/pending/:code' },
  revokePairing: { method: 'DELETE', path: '/api/pairing/approved/:channel/:senderId' },
  listSchedules: { method: 'GET', path: '/api/schedules' },
  getSchedule: { method: 'GET', path: '/api/schedules/:id' },
  createSchedule: { method: 'POST', path: '/api/schedules', body: true },
  patchSchedule: { method: 'PATCH', path: '/api/schedules/:id', body: true },
  deleteSchedule: { method: 'DELETE', path: '/api/schedules/:id' },
  listTasks: { method: 'GET', path: '/api/tasks' },
  getTask: { method: 'GET', path: '/api/tasks/:id' },
  createTask: { method: 'POST', path: '/api/tasks', body: true },
  patchTask: { method: 'PATCH', path: '/api/tasks/:id', body: true },
  deleteTask: { method: 'DELETE', path: '/api/tasks/:id' },
  reorderTasks: { method: 'POST', path: '/api/tasks/reorder', body: true },
  listComments: { method: 'GET', path: '/api/tasks/:id/comments' },
  addComment: { method: 'POST', path: '/api/tasks/:id/comments', body: true },
  deleteComment: { method: 'DELETE', path: '/api/comments/:id' },
  listProjects: { method: 'GET', path: '/api/projects' },
  getProject: { method: 'GET', path: '/api/projects/:id' },
  createProject: { method: 'POST', path: '/api/projects', body: true },
  patchProject: { method: 'PATCH', path: '/api/projects/:id', body: true },
  deleteProject: { method: 'DELETE', path: '/api/projects/:id' },
  usage: { method: 'GET', path: '/api/usage' },
} as const satisfies { [K in RouteName]: RouteShape<ApiContract[K]> };
