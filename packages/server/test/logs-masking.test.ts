/**
 * `GET /api/logs` never shows a URL's password (docs/api.md): the daemon's logger masks them as
 * it writes, and a line that reached daemon.log another way (a crash's stderr, a line written
 * before that) is masked when the API reads it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it("the daemon log's URL passwords are masked in GET /api/logs", async () => {
  mkdirSync(join(h.home, 'logs'), { recursive: true });
  writeFileSync(
    join(h.home, 'logs', 'daemon.log'),
    [
      '2026-01-01T00:00:00.000Z INFO  [telemetry] exporting traces over OTLP http/protobuf to http://probe:s3cret-pass@collector:4318/v1/traces',
      'Error: connect ECONNREFUSED postgres://tiny:db-pass@db:5432/tiny',
      '2026-01-01T00:00:01.000Z INFO  [daemon] listening on http://127.0.0.1:3777',
      '',
    ].join('\n'),
  );
  const { lines } = await h.client.logs({ query: { lines: 10 } });
  expect(lines).toEqual([
    '2026-01-01T00:00:00.000Z INFO  [telemetry] exporting traces over OTLP http/protobuf to http://probe:…@collector:4318/v1/traces',
    'Error: connect ECONNREFUSED postgres://tiny:…@db:5432/tiny',
    '2026-01-01T00:00:01.000Z INFO  [daemon] listening on http://127.0.0.1:3777',
  ]);
});
