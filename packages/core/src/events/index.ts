export { matchesFilter, type EventFilter, type EventLogApi } from './store.ts';
export { EVENT_TYPES, type EventType, type EventInput, type EventPayloadInput, type EventOf, type TinyEvent } from './types.ts';
