export { QuotaBoard, quotaHoldViews, type QuotaHoldView } from './board.ts';
