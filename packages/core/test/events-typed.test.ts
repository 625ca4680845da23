/**
 * The event log is typed by the contract's event map: `pnpm typecheck` fails on a producer that
 * sends a wrong, missing or undeclared field or an unknown type (each `@ts-expect-error` below
 * is itself an error if the line compiles), and readers get `data` narrowed by `type`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type TinyDatabase } from '../src/storage/database.ts';
import { EventLog } from '../src/events/sqlite-log.ts';

let dir: string;
let db: TinyDatabase;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('typed events', () => {
  it('producers are checked against the event map; readers see typed data', () => {
    dir = mkdtempSync(join(tmpdir(), 'tinyagi-typed-events-'));
    db = openDatabase({ path: join(dir, 'e.db') });
    const events = new EventLog(db, { tailMs: 0 });
    const ok = events.append({ type: 'budget.warning', conversationId: 'c', data: { limitName: 'conversation_usd', used: 0.5, limit: 1, fraction: 0.5 } });

    // Compiled, never run: each call must be a type error.
    const mistakes = (): void => {
      // @ts-expect-error a missing field (`fraction`)
      events.append({ type: 'budget.warning', data: { limitName: 'conversation_usd', used: 0.5, limit: 1 } });
      // @ts-expect-error a field of the wrong type
      events.append({ type: 'budget.warning', data: { limitName: 'conversation_usd', used: '0.5', limit: 1, fraction: 0.5 } });
      // @ts-expect-error a field the schema does not declare (the bug `send --wait` once read)
      events.append({ type: 'budget.warning', data: { limitName: 'conversation_usd', used: 0.5, limit: 1, fraction: 0.5, message: 'x' } });
      // @ts-expect-error an unknown event type
      events.emit({ type: 'run.exploded', data: {} });
      // @ts-expect-error no data
      events.emit({ type: 'heartbeat.sent' });
    };
    expect(mistakes).toBeTypeOf('function');

    const [read] = events.readSince(ok.id - 1, { types: ['budget.warning'] });
    // Narrowed by the `types` filter: `data.used` is a number here, no cast.
    const used: number | undefined = read?.data.used;
    expect(used).toBe(0.5);
  });
});
