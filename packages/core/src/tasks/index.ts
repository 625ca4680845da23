export type { TaskRecord, TaskStoreApi } from './model.ts';
