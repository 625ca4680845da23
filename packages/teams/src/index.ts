/**
 * @tinyagi/teams public API: the Orchestrator (queue -> agents -> replies) with its plugin and
 * sub-agent API, the tag protocol, and the run tree and transcript of a conversation. Routing,
 * guards, admission and steering internals are `@tinyagi/teams/internal`.
 */
export { Orchestrator, type OrchestratorOptions, type OrchestratorStatus, type SteerResult } from './orchestrator/orchestrator.ts';
export type { CancelConversationResult } from './orchestrator/conversation-ops.ts';
export type { OrchestratorPlugin, PluginContext } from './orchestrator/context.ts';
export type { SubmitInput, SubmitResult } from './orchestrator/submit.ts';
export { parseTags, findTags, type ParsedReply, type ParsedTag, type Mention, type ChatroomPostTag, type IgnoredTarget, type IgnoredReason, type TagKind, type ParseOptions } from './protocol/tags.ts';
export { toReadable, type ReadableOptions, type ReadableReply } from './protocol/readable.ts';
export { SubAgent, SubAgentSession, subAgent, type Spawner, type SubAgentCallOptions } from './subagents/sub-agent.ts';
export { subagentSessionKey, type SpawnInput, type SpawnResult, type SpawnFailureCode } from './subagents/spawner.ts';
export { runTreeFromEvents, nestRuns, type RunNode, type ConversationTree } from './conversations/tree.ts';
export { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from './conversations/transcript.ts';
