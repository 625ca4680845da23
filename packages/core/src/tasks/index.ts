export type { CommentRecord, TaskRecord, TaskStoreApi } from './store.ts';
