/**
 * What the server needs from the orchestrator: the part of @tinyagi/teams' Orchestrator the
 * routes call (so tests and embedders may pass anything with this shape), and the services built
 * on it (teams' `orchestratorServices`: steering, approvals, chat rooms, conversation control and
 * views).
 */
import type { Orchestrator, OrchestratorServices } from '@tinyagi/teams';

/** `notifyTaskChecked` tells its observers of a task's Checking (the trace export's spans); one without it hears nothing of Checkings. */
export type ServerOrchestrator = Pick<Orchestrator, 'submitGrouped' | 'spawn' | 'declareRunAction' | 'status'> & Partial<Pick<Orchestrator, 'notifyTaskChecked'>>;

export type { SubmitInput, SubmitResult, SpawnInput, SpawnResult } from '@tinyagi/teams';

/** The services the routes call: each service's methods they use. */
export interface ServerOrchestratorServices {
  steering: Pick<OrchestratorServices['steering'], 'steer' | 'ofRun'>;
  approvals: Pick<OrchestratorServices['approvals'], 'decide' | 'request' | 'askHuman'>;
  chatRoom: Pick<OrchestratorServices['chatRoom'], 'post'>;
  conversations: Pick<OrchestratorServices['conversations'], 'cancelRun' | 'cancelMessage' | 'cancelConversation' | 'continueOrStop'>;
  views: Pick<OrchestratorServices['views'], 'tree' | 'transcript' | 'transcriptMarkdown'>;
}
