/**
 * @tinyagi/teams/internal: the orchestrator's parts that only the sibling packages, the benchmarks
 * and the tests use — addressing and routing, guards and budgets, sub-agent admission, steering,
 * reply keys. No stability promise to library users (the root entry is the Orchestrator, its
 * plugin and sub-agent API, the tag protocol and the run tree).
 */
export { splitAddressPrefix, resolveTarget, defaultAgentId, defaultTeamOf, teamMembers, teamsOf, type AddressPrefix, type ResolvedTarget } from './protocol/addressing.ts';
export { planRoutes, type RoutePlan, type PlannedDelivery, type RouteContext, type RoomPost, type IncomingProvenance } from './router/plan.ts';
export { teammateMessage, chatroomMessage, subagentTask, readMeta, type MessageMeta } from './router/provenance.ts';
export { guardDeliveries, type DispatchVerdict, type GuardedDelivery } from './guards/dispatch.ts';
export { softLimitReached, softLimitMessage, type SoftLimitHit } from './guards/soft-limit.ts';
export { nextPingPong, type PingPongState } from './guards/ping-pong.ts';
export { mayCall } from './guards/confinement.ts';
export type { GuardLimit, GuardRejection, ConversationUsage, GuardSettings } from './guards/limits.ts';
export { admitSpawn, type Admission, type AdmissionSnapshot, type SpawnRefusalCode } from './subagents/admission.ts';
export { SteeringBoard, type SteeringInput, type SteerOutcome } from './steering/steering.ts';
export { replyKey, aggregateKey } from './conversations/replies.ts';
export { refuseAgentMoveOfTakenOverTask, refuseAgentMoveWhileChecking, refuseAgentReviewOutOfWork, refuseDoneWithoutMerge, refuseMoveToChecking, saysDoneOnBoundTask } from './tasks/refusals.ts';
