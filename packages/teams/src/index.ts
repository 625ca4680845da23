/**
 * @tinyagi/teams: the team protocol, routing, conversations, guards and budgets, recursive
 * sub-agents, steering and the orchestrator loop. Curated public API.
 */
export { Orchestrator, type OrchestratorOptions, type OrchestratorStatus, type SteerResult } from './orchestrator/orchestrator.ts';
export type { CancelConversationResult } from './orchestrator/conversation-ops.ts';
export type { OrchestratorPlugin, PluginContext } from './orchestrator/context.ts';
export type { SubmitInput, SubmitResult } from './orchestrator/submit.ts';

export { parseTags, findTags, type ParsedReply, type ParsedTag, type Mention, type ChatroomPostTag, type IgnoredTarget, type IgnoredReason, type TagKind, type ParseOptions } from './protocol/tags.ts';
export { toReadable, type ReadableOptions, type ReadableReply } from './protocol/readable.ts';
export { splitAddressPrefix, resolveTarget, defaultAgentId, defaultTeamOf, teamMembers, teamsOf, type AddressPrefix, type ResolvedTarget } from './protocol/addressing.ts';

export { planRoutes, type RoutePlan, type PlannedDelivery, type RouteContext, type RoomPost, type IncomingProvenance } from './router/plan.ts';
export { teammateMessage, chatroomMessage, subagentTask, readMeta, type MessageMeta, type MessageProvenance } from './router/provenance.ts';

export { guardDeliveries, type DispatchVerdict, type GuardedDelivery } from './guards/dispatch.ts';
export { checkBudgets, startOfUtcDay, type SpendSnapshot } from './guards/budgets.ts';
export { softLimitReached, softLimitMessage, type SoftLimitHit } from './guards/soft-limit.ts';
export { nextPingPong, type PingPongState } from './guards/ping-pong.ts';
export type { GuardRule, GuardRejection, ConversationUsage, GuardSettings } from './guards/rules.ts';

export { admitSpawn, type Admission, type AdmissionSnapshot, type SpawnRefusalCode } from './subagents/admission.ts';
export { SubAgent, SubAgentSession, subAgent, type Spawner, type SubAgentCallOptions } from './subagents/sub-agent.ts';
export { subagentSessionKey, type SpawnInput, type SpawnResult, type SpawnFailureCode } from './subagents/spawner.ts';

export { SteeringBoard, type SteeringInput, type SteerOutcome } from './steering/steering.ts';

export { runTreeFromEvents, nestRuns, type RunNode, type ConversationTree } from './conversations/tree.ts';
export { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from './conversations/transcript.ts';
export { replyKey, aggregateKey, signed } from './conversations/replies.ts';
