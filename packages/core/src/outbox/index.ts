export type { OutboxInput } from './store.ts';
export { ReplyDelivery } from './delivery.ts';
