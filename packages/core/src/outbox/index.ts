export type { OutboxInput } from './model.ts';
export { ReplyDelivery } from './delivery.ts';
