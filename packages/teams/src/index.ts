/**
 * @tinyagi/teams public API: the Orchestrator (queue -> agents -> replies) with its plugin and
 * sub-agent API, the facets built on it (steering, approvals, chat rooms, conversation control
 * and views: `orchestratorFacets`), the tag protocol, and the run tree and transcript of a
 * conversation. Routing, guards, admission and steering internals are `@tinyagi/teams/internal`.
 */
export { Orchestrator, type OrchestratorOptions, type OrchestratorStatus } from './orchestrator/orchestrator.ts';
import { orchestratorFacets, type OrchestratorFacets, type OrchestratorFacetsOptions } from './facets/all.ts';
export { orchestratorFacets, type OrchestratorFacets, type OrchestratorFacetsOptions };
/** @deprecated Say `orchestratorFacets` (its old name, kept for library users; docs/glossary.md, "facet"). */
export const orchestratorServices: typeof orchestratorFacets = orchestratorFacets;
/** @deprecated Say `OrchestratorFacets`. */
export type OrchestratorServices = OrchestratorFacets;
/** @deprecated Say `OrchestratorFacetsOptions`. */
export type OrchestratorServicesOptions = OrchestratorFacetsOptions;
export { Steering, type SteeringOptions } from './facets/steering.ts';
export type { SteerResult, RunSteering } from './steering/steer.ts';
export { Approvals } from './facets/approvals.ts';
export { groupApprovals } from './approvals/groups.ts';
export { modelCallBudget } from './guards/model-call-budget.ts';
export { TaskFlow, taskMessage, type TaskFlowOptions } from './tasks/flow.ts';
export type { NodeInfoSource } from './tasks/node-asks.ts';
export { nextStep, type TaskStep } from './tasks/next-step.ts';
export { ChatRoom } from './facets/chat-room.ts';
export { ConversationControl } from './facets/conversation-control.ts';
export { ConversationViews } from './facets/conversation-views.ts';
export type { CancelConversationResult } from './orchestrator/conversation-ops.ts';
export type { OrchestratorPlugin, PluginContext } from './orchestrator/context.ts';
export type { SubmitInput, SubmitResult } from './orchestrator/submit.ts';
export { parseTags, findTags, type ParsedReply, type ParsedTag, type Mention, type ChatroomPostTag, type IgnoredTarget, type IgnoredReason, type TagKind, type ParseOptions } from './protocol/tags.ts';
export { toReadable, type ReadableOptions, type ReadableReply } from './protocol/readable.ts';
export { SubAgent, SubAgentSession, subAgent, type Spawner, type SubAgentCallOptions } from './subagents/sub-agent.ts';
export { subagentSessionKey, type SpawnInput, type SpawnResult, type SpawnFailureCode } from './subagents/spawner.ts';
export { runTreeFromEvents, nestRuns, type RunNode, type ConversationTree } from './conversations/tree.ts';
export { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from './conversations/transcript.ts';
export { workflowFileProblem, Workflows, type WorkflowsOptions } from './workflows/engine.ts';
export type { StartWorkflowInput, WorkflowBudgetInput, WorkflowService } from './workflows/service.ts';
export { carryOutBudgetAnswer } from './workflows/budget-request.ts';
