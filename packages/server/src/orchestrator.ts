/**
 * What the server needs from the orchestrator: the part of @tinyagi/teams' Orchestrator the
 * routes call (so tests and embedders may pass anything with this shape), and the facets built
 * on it (teams' `orchestratorFacets`: steering, approvals, chat rooms, conversation control and
 * views).
 */
import type { Orchestrator, OrchestratorFacets } from '@tinyagi/teams';

/** `notifyTaskChecked` tells its observers of a task's Checking (the trace export's spans); one without it hears nothing of Checkings. */
export type ServerOrchestrator = Pick<Orchestrator, 'submitGrouped' | 'spawn' | 'declareRunAction' | 'status'> & Partial<Pick<Orchestrator, 'notifyTaskChecked'>>;

export type { SubmitInput, SubmitResult, SpawnInput, SpawnResult } from '@tinyagi/teams';

/** The facets the routes call: each facet's methods they use. */
export interface ServerOrchestratorFacets {
  steering: Pick<OrchestratorFacets['steering'], 'steer' | 'ofRun'>;
  approvals: Pick<OrchestratorFacets['approvals'], 'decide' | 'request' | 'askHuman'>;
  chatRoom: Pick<OrchestratorFacets['chatRoom'], 'post'>;
  conversations: Pick<OrchestratorFacets['conversations'], 'cancelRun' | 'cancelMessage' | 'cancelConversation' | 'continueOrStop'>;
  views: Pick<OrchestratorFacets['views'], 'tree' | 'transcript' | 'transcriptMarkdown'>;
}

/** @deprecated Say `ServerOrchestratorFacets` (its old name, kept for library users). */
export type ServerOrchestratorServices = ServerOrchestratorFacets;
