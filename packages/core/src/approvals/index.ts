export type { ApprovalRecord } from './model.ts';
export { evaluatePermission } from './rules.ts';
export { maskToolInput } from './mask.ts';
