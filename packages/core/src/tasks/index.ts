export type { TaskRecord, TaskStoreApi } from './store.ts';
