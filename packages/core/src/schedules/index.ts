export { ScheduleStore, type ScheduleRecord, type ScheduleInput, type MissedPolicy } from './store.ts';
