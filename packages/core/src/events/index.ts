export { EventLog, matchesFilter, type EventFilter, type EventListener, type EventLogApi } from './log.ts';
export { EVENT_TYPES, EVENT_PAYLOADS, type EventType, type EventInput, type EventPayload, type EventPayloadInput, type EventOf, type TinyEvent } from './types.ts';
