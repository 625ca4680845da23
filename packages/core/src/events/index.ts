export { matchesFilter, type EventFilter, type EventLogApi } from './model.ts';
export { EVENT_TYPES, type EventType, type EventInput, type EventPayloadInput, type EventOf, type TinyEvent } from './types.ts';
