export { matchesFilter, type EventFilter, type EventListener, type EventLogApi } from './model.ts';
export { EventLog } from './sqlite-log.ts';
export { EVENT_TYPES, EVENT_PAYLOADS, type EventType, type EventInput, type EventPayload, type EventPayloadInput, type EventOf, type TinyEvent } from './types.ts';
