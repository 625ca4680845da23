/**
 * `tinyagi provider` without a daemon (the offline settings editor): credentials are written to
 * settings.json, shown masked, and every known key says whether it is set. The commands run in
 * this process (`cliHere`) against a temp home no daemon serves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';

const LONG_KEY = 'sk-ant-api03-provider-test-key-0123456789abcd';

let h: TestDaemon;
beforeAll(async () => {
  h = await createDaemon();
});
afterAll(async () => {
  await h.cleanup();
});

interface ProvidersJson {
  default: string | null;
  anthropic: Record<string, string>;
  openai: Record<string, string>;
  custom: Array<Record<string, string>>;
  secrets: Array<{ path: string; set: boolean }>;
}

const show = async (): Promise<ProvidersJson> => JSON.parse(await h.cliHereOk(['provider', '--json'])) as ProvidersJson;

describe('tinyagi provider (offline)', () => {
  it('shows keys masked once, with set flags; a short key shows nothing of itself', async () => {
    await h.cliHereOk(['provider', 'anthropic', '--api-key', LONG_KEY, '--no-default']);
    const onDisk = JSON.parse(readFileSync(join(h.home, 'settings.json'), 'utf8')) as { models: { anthropic: { api_key: string }; provider?: string } };
    expect(onDisk.models.anthropic.api_key).toBe(LONG_KEY);
    expect(onDisk.models.provider).toBeUndefined();

    const first = await show();
    expect(first).toMatchObject({ default: null, anthropic: { api_key: 'sk-…abcd' }, openai: {} });
    expect(first.secrets).toEqual([
      { path: 'models.anthropic.api_key', set: true },
      { path: 'models.anthropic.oauth_token', set: false },
      { path: 'models.openai.api_key', set: false },
    ]);
    const text = await h.cliHereOk(['provider']);
    expect(text).toMatch(/anthropic:\s+api_key=sk-…abcd oauth_token=not set/);
    expect(text).toMatch(/openai:\s+not configured/);
    expect(text).not.toContain(LONG_KEY);

    await h.cliHereOk(['provider', 'openai', '--api-key', 'sk-short-1']);
    const second = await show();
    expect(second).toMatchObject({ default: 'codex', openai: { api_key: '…' } });
    expect(second.secrets).toContainEqual({ path: 'models.openai.api_key', set: true });
    expect(JSON.stringify(second)).not.toContain('sk-short-1');
  });

  it('custom providers without a key say "not set"', async () => {
    await h.cliHereOk(['provider', 'add', 'local', '--runtime', 'openai', '--base-url', 'http://127.0.0.1:11434/v1']);
    // The old runtime name is taken and shown as the runtime's name.
    expect(await h.cliHereOk(['provider', 'list'])).toMatch(/local\s+local\s+openai-api\s+http:\/\/127\.0\.0\.1:11434\/v1\s+not set/);
    // `--harness`, the option's old name, still works (not in the help); both write `runtime`.
    await h.cliHereOk(['provider', 'add', 'other', '--harness', 'codex', '--base-url', 'http://127.0.0.1:11434/v1']);
    expect((await show()).custom).toContainEqual(expect.objectContaining({ id: 'other', runtime: 'codex' }));
    expect(await h.cliHereOk(['provider', 'add', '--help'])).not.toContain('--harness');
    expect((await show()).secrets).toContainEqual({ path: 'custom_providers.local.api_key', set: false });
  });
});
