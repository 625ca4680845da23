export type { ChatroomStoreApi } from './store.ts';
