export type { ChatroomPost, ChatroomListQuery, ChatroomStoreApi } from './model.ts';
export { ChatroomStore } from './sqlite-store.ts';
