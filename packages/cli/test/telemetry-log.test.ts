/**
 * OTLP endpoint credentials stay out of the daemon log (docs/telemetry.md, "Content and
 * secrets"): the trace export's start line names the collector, and an endpoint given as
 * `http://user:password@…` is written with its password masked, as is any URL password in any
 * line the daemon's logger writes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../src/daemon/logger.ts';
import { RotatingLog } from '../src/daemon/rotating-log.ts';
import { telemetryService } from '../src/telemetry.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-telemetry-log-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('the trace export names its endpoint in daemon.log without the password', async () => {
  const file = join(dir, 'logs', 'daemon.log');
  const log = new RotatingLog({ file });
  const logger = createLogger({ file: log });
  // Nothing listens on port 9: the export's start line is written all the same.
  const settings = { telemetry: { enabled: true, endpoint: 'http://probe:s3cret-pass@127.0.0.1:9', protocol: 'http/json', cli_telemetry: true } } as Settings;
  // No metrics export: its shutdown would retry the closed port.
  const service = telemetryService({ settings, env: { OTEL_METRICS_EXPORTER: 'none' }, logger: logger.child('telemetry'), getSettings: () => settings });
  await service.start();
  await service.stop();
  logger.warn('storage: cannot reach postgres://tiny:db-pass@db:5432/tiny?sslpassword=cert-pass');
  log.close();
  const text = readFileSync(file, 'utf8');
  expect(text).toContain('[telemetry] exporting traces over OTLP http/json to http://probe:…@127.0.0.1:9/v1/traces');
  expect(text).toContain('postgres://tiny:…@db:5432/tiny?sslpassword=…');
  expect(text).not.toMatch(/s3cret-pass|db-pass|cert-pass/);
});
