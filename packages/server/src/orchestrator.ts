/**
 * What the server needs from the orchestrator: the part of @tinyagi/teams' Orchestrator the
 * routes call (so tests and embedders may pass anything with this shape).
 */
import type { Orchestrator } from '@tinyagi/teams';

export type ServerOrchestrator = Pick<
  Orchestrator,
  | 'submitGrouped'
  | 'cancelRun'
  | 'cancelMessage'
  | 'cancelConversation'
  | 'decide'
  | 'steer'
  | 'runSteering'
  | 'spawn'
  | 'declareRunAction'
  | 'decideApproval'
  | 'requestApproval'
  | 'askHuman'
  | 'postChatroom'
  | 'conversationTree'
  | 'transcript'
  | 'transcriptMarkdown'
  | 'status'
>;

export type { SubmitInput, SubmitResult, SpawnInput, SpawnResult } from '@tinyagi/teams';
