export type { MemoryCreateInput, MemoryDecision, MemoryFilter, MemoryPatch, MemoryRecord, MemoryStoreApi, RecallCandidates, ScoredMemory } from './store.ts';
export {
  badMemoryPath,
  exportMemoryFiles,
  IMPORT_DECIDER,
  importedEntryId,
  importedPath,
  importMemoryFiles,
  parseMemoryFile,
  readWorkspaceMemoryFiles,
  renderMemoryFile,
} from './files.ts';
export {
  addMemory,
  decideMemory,
  editMemory,
  mustGetMemory,
  proposeForget,
  proposeRemember,
  retireMemory,
  type DecideInput,
  type Provenance,
  type ProposalResult,
  type RememberInput,
} from './proposals.ts';
export { contradicted, refuseSecret, searchTerms, weightedOverlaps } from './proposal-checks.ts';
export { estimateTokens, fuse, MEMORY_BLOCK_TAG, memoryBlock, recallForTurn, searchMemory, selectWithinBudget, type Recall, type RecallRequest, type RecallWeighting } from './recall.ts';
export { embed, embeddingsConfig, EmbeddingsError, vectorModel, type EmbeddingsConfig, type EmbeddingsFailure } from './embeddings.ts';
export { EmbeddingSweep, type EmbeddingSweepOptions, type SweepPass } from './embedding-sweep.ts';
export { semanticRecallFor, SemanticRecall, useEmbeddingsLog, type EmbeddingsLog, type SemanticHit } from './semantic.ts';
export type { EntryToEmbed, EntryVersion, MemoryVectorStoreApi, StoredVector } from './vectors.ts';
export { autoAcceptedKinds, includesScope, projectOfConversation, projectOfSender, readableScopes } from './scopes.ts';
