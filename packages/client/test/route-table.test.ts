/** The zod-free route table the client uses matches the contract route for route. */
import { describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '../src/contract/index.ts';
import { ROUTE_TABLE } from '../src/route-table.ts';
import { EVENT_PAYLOADS, EVENT_TYPES } from '../src/contract/event-map.ts';

describe('zod-free tables', () => {
  it('ROUTE_TABLE has every contract route with its method, path, body and text flag', () => {
    const fromContract = Object.fromEntries(
      (Object.entries(apiContract) as Array<[string, RouteDef]>).map(([name, d]) => [
        name,
        { method: d.method, path: d.path, ...(d.produces === 'text' ? { produces: 'text' } : {}), ...(d.body ? { body: true } : {}) },
      ]),
    );
    expect(ROUTE_TABLE).toEqual(fromContract);
  });

  it('EVENT_TYPES lists exactly the types of the event map', () => {
    expect([...EVENT_TYPES].sort()).toEqual(Object.keys(EVENT_PAYLOADS).sort());
  });
});
