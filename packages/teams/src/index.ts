/**
 * @tinyagi/teams public API: the Orchestrator (queue -> agents -> replies) with its plugin and
 * sub-agent API, the services built on it (steering, approvals, chat rooms, conversation control
 * and views: `orchestratorServices`), the tag protocol, and the run tree and transcript of a
 * conversation. Routing, guards, admission and steering internals are `@tinyagi/teams/internal`.
 */
export { Orchestrator, type OrchestratorOptions, type OrchestratorStatus } from './orchestrator/orchestrator.ts';
export { orchestratorServices, type OrchestratorServices, type OrchestratorServicesOptions } from './services/all.ts';
export { Steering, type SteeringOptions } from './services/steering.ts';
export type { SteerResult, RunSteering } from './steering/steer.ts';
export { Approvals } from './services/approvals.ts';
export { modelCallBudget } from './guards/model-call-budget.ts';
export { TaskFlow, taskMessage, type TaskFlowOptions } from './tasks/flow.ts';
export { nextStep, type TaskStep } from './tasks/next-step.ts';
export { ChatRoom } from './services/chat-room.ts';
export { ConversationControl } from './services/conversation-control.ts';
export { ConversationViews } from './services/conversation-views.ts';
export type { CancelConversationResult } from './orchestrator/conversation-ops.ts';
export type { OrchestratorPlugin, PluginContext } from './orchestrator/context.ts';
export type { SubmitInput, SubmitResult } from './orchestrator/submit.ts';
export { parseTags, findTags, type ParsedReply, type ParsedTag, type Mention, type ChatroomPostTag, type IgnoredTarget, type IgnoredReason, type TagKind, type ParseOptions } from './protocol/tags.ts';
export { toReadable, type ReadableOptions, type ReadableReply } from './protocol/readable.ts';
export { SubAgent, SubAgentSession, subAgent, type Spawner, type SubAgentCallOptions } from './subagents/sub-agent.ts';
export { subagentSessionKey, type SpawnInput, type SpawnResult, type SpawnFailureCode } from './subagents/spawner.ts';
export { runTreeFromEvents, nestRuns, type RunNode, type ConversationTree } from './conversations/tree.ts';
export { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from './conversations/transcript.ts';
