export { ChatroomStore, type ChatroomPost, type ChatroomListQuery } from './store.ts';
