export type { WorkflowRunChain, WorkflowRunRecord, WorkflowStepRecord, WorkflowStoreApi } from './store.ts';
export { registeredWorkflow, registeredWorkflows } from './registered.ts';
