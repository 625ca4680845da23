export { ScheduleStore, firedEvent, scheduleMessage, type ScheduleRecord, type ScheduleInput, type MissedPolicy, type ScheduleStoreApi } from './store.ts';
export { nextScheduleRun, nextScheduleRuns, validateScheduleTiming, assertTimeZone, isTimeZone, parseRunAt, invalidSchedule, type ScheduleTiming } from './timing.ts';
export { newScheduleInput, patchedScheduleInput, createSchedule, updateSchedule, type ScheduleCreate, type SchedulePatch } from './editing.ts';
