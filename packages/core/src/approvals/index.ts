export type { ApprovalRecord } from './model.ts';
export { evaluatePermission } from './rules.ts';
export { maskToolInput } from './mask.ts';
export { STARTER_PERMISSION_RULES, withNewAgentDefaults } from './new-agent-defaults.ts';
