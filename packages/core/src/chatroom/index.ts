export { ChatroomStore, type ChatroomPost, type ChatroomListQuery, type ChatroomStoreApi } from './store.ts';
