export type { ChatroomStoreApi } from './model.ts';
