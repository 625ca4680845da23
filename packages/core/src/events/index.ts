export { EventLog, matchesFilter, type EventFilter, type EventListener } from './log.ts';
export { EVENT_TYPES, type EventType, type EventInput, type TinyEvent } from './types.ts';
