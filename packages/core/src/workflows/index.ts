export type { NewWorkflowRun, NewWorkflowStep, WorkflowRunChain, WorkflowRunPatch, WorkflowRunRecord, WorkflowRunTotals, WorkflowStepPatch, WorkflowStepRecord, WorkflowStoreApi } from './store.ts';
export { registeredWorkflow, registeredWorkflows, workflowsDir } from './registered.ts';
