export type { ApprovalRecord, ApprovalStoreApi } from './store.ts';
export { Deadline } from './deadline.ts';
export { evaluatePermission, isOwnRequest, MAX_REQUEST_PATHS, requestPaths } from './rules.ts';
export { rulesForAnswer } from './answer-rules.ts';
export { maskSecretsInText, maskToolInput } from './mask.ts';
export { newAgent, newAgentNoteText, STARTER_PERMISSION_RULES, withNewAgentDefaults, type NewAgent, type NewAgentMachine } from './new-agent-defaults.ts';
