export { firedEvent, scheduleMessage, type ScheduleRecord, type ScheduleInput, type MissedPolicy, type ScheduleStoreApi } from './model.ts';
export { ScheduleStore } from './sqlite-store.ts';
export { nextScheduleRun, nextScheduleRuns, validateScheduleTiming, assertTimeZone, isTimeZone, parseRunAt, invalidSchedule, type ScheduleTiming } from './timing.ts';
export { newScheduleInput, patchedScheduleInput, createSchedule, updateSchedule, type ScheduleCreate, type SchedulePatch } from './editing.ts';
