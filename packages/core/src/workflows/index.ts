export type { NewWorkflowRun, NewWorkflowStep, WorkflowRunPatch, WorkflowRunRecord, WorkflowRunTotals, WorkflowStepPatch, WorkflowStepRecord, WorkflowStoreApi } from './store.ts';
