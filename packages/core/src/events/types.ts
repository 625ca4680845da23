/**
 * Every event the system emits, and the shape of each one's `data`: the event map lives in the
 * API contract (`@tinyagi/client/contract`), the public contract of the SSE stream, so producers
 * here and in teams are checked against the same schemas clients read (docs/events.md maps the
 * reference's names onto these).
 */
export { EVENT_TYPES, EVENT_PAYLOADS, type EventType, type EventInput, type EventPayload, type EventPayloadInput, type EventOf, type TinyEvent } from '@tinyagi/client/contract';
