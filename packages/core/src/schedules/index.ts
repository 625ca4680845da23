export { firedEvent, scheduleMessage, type ScheduleRecord, type ScheduleStoreApi } from './store.ts';
export { ScheduleStore } from './sqlite-store.ts';
export { nextScheduleRun, nextScheduleRuns, isTimeZone, parseRunAt } from './timing.ts';
export { createSchedule, updateSchedule, type ScheduleCreate, type SchedulePatch } from './editing.ts';
