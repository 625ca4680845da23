export { derivePrefix, TASK_STATUSES, type TaskStatus, type TaskRecord, type ProjectRecord, type CommentRecord, type CreateTaskInput, type TaskPatch, type TaskStoreApi } from './model.ts';
export { TaskStore } from './sqlite-store.ts';
