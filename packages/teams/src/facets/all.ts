/**
 * The facets of an orchestrator: what a person's request uses beside its pipeline, built
 * together for whoever serves an API on it (the daemon, `@tinyagi/server`): steering, the
 * approval desk's surfaces, the chat rooms, the conversation controls (cancel, continue or stop)
 * and the conversation views.
 */
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';
import { Approvals } from './approvals.ts';
import { ChatRoom } from './chat-room.ts';
import { ConversationControl } from './conversation-control.ts';
import { ConversationViews } from './conversation-views.ts';
import { Steering, type SteeringOptions } from './steering.ts';

export interface OrchestratorFacets {
  steering: Steering;
  approvals: Approvals;
  chatRoom: ChatRoom;
  conversations: ConversationControl;
  views: ConversationViews;
}

export interface OrchestratorFacetsOptions {
  steering?: SteeringOptions;
}

/** Every facet of `orchestrator` (a TypeError for anything that is not one of this package's Orchestrators). */
export function orchestratorFacets(orchestrator: Orchestrator, options: OrchestratorFacetsOptions = {}): OrchestratorFacets {
  return {
    steering: new Steering(orchestrator, options.steering),
    approvals: new Approvals(orchestrator),
    chatRoom: new ChatRoom(orchestrator),
    conversations: new ConversationControl(orchestrator),
    views: new ConversationViews(orchestratorContext(orchestrator).stores),
  };
}
