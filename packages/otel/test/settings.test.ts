/**
 * The settings' `telemetry` block: validated by the settings schema (clear errors), its export
 * headers masked like API keys wherever settings leave the process, and read by resolveTraceExport.
 */
import { describe, expect, it } from 'vitest';
import { SettingsSchema } from '@tinyagi/core';
import { maskSettings, stripUnchangedMasks } from '@tinyagi/core/internal';
import { resolveTraceExport, type TelemetrySettings } from '../src/index.ts';

const KEY = 'hcaik_01abcdefghijklmnopqrstuvwxyz0123456789';

describe('settings: telemetry', () => {
  it('a full block validates and turns export on as written', () => {
    const settings = SettingsSchema.parse({
      telemetry: {
        enabled: true,
        endpoint: 'https://api.honeycomb.io',
        protocol: 'http/protobuf',
        headers: { 'x-honeycomb-team': KEY },
        sample_ratio: 0.1,
        capture_content: false,
        service_name: 'tiny',
      },
    });
    expect(resolveTraceExport(settings.telemetry as TelemetrySettings, {})).toMatchObject({
      url: 'https://api.honeycomb.io/v1/traces',
      headers: { 'x-honeycomb-team': KEY },
      sampleRatio: 0.1,
      serviceName: 'tiny',
    });
  });

  it('bad values are refused with the key and the reason', () => {
    const bad = SettingsSchema.safeParse({ telemetry: { endpoint: 'localhost:4318', protocol: 'thrift', sample_ratio: 3 } });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(issues).toContain('telemetry.endpoint: must be an http:// or https:// URL such as http://localhost:4318, got "localhost:4318"');
    expect(issues).toContain('telemetry.protocol');
    expect(issues).toContain('telemetry.sample_ratio');
  });

  it('export headers are secrets: masked when shown, and a masked value sent back keeps the stored one', () => {
    const settings = { telemetry: { enabled: true, headers: { 'x-honeycomb-team': KEY, authorization: 'Basic dXNlcjpwYXNzd29yZA==' } } };
    const shown = maskSettings(settings);
    expect(JSON.stringify(shown)).not.toContain(KEY);
    expect(JSON.stringify(shown)).not.toContain('dXNlcjpwYXNzd29yZA');
    expect(stripUnchangedMasks(shown, settings)).toEqual(settings);
  });
});
