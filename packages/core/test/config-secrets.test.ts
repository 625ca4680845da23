import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deepMergeSettings, hasMaskedUrlSecret, isMaskedValue, isSecretKey, maskSecret, maskSettings, maskUrlSecrets, secretStatus, stripUnchangedMasks, type Settings } from '../src/config/index.ts';

const reference = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/settings/reference.json'), 'utf8')) as Settings;

/** Every string under a secret-looking key, plus the plugin secrets added below. */
const withPluginSecrets: Settings = {
  ...reference,
  plugins: { notifier: { webhookSecret: 'whsec-plugin-secret-value-0000', auth: { password: 'hunter2-but-longer-pw', refresh_token: 'rt-1234567890abcdefghij' } } },
};
const SECRET_VALUES = [
  reference.models?.anthropic?.api_key,
  reference.models?.openai?.api_key,
  (reference.channels?.['discord'] as { bot_token?: string } | undefined)?.bot_token,
  (reference.channels?.['telegram'] as { bot_token?: string } | undefined)?.bot_token,
  reference.custom_providers?.['local-llama']?.api_key,
  'whsec-plugin-secret-value-0000',
  'hunter2-but-longer-pw',
  'rt-1234567890abcdefghij',
] as string[];

describe('secrets', () => {
  it('masks as first 3 + "…" + last 4, and short values completely', () => {
    expect(maskSecret('sk-ant-api03-0123456789abcd')).toBe('sk-…abcd');
    expect(maskSecret('12345678')).toBe('…');
    expect(maskSecret('short-password')).toBe('…');
    // Up to 23 characters nothing is shown; from 24 on, 17 or more stay hidden.
    expect(maskSecret('hunter2-but-longer-pw')).toBe('…');
    expect(maskSecret('x'.repeat(22) + 'yz')).toBe('xxx…xxyz');
    expect(maskSecret('x'.repeat(21) + 'yz')).toBe('…');
    // Idempotent: masking a mask (settings read through the API, masked again) shows the same.
    expect(maskSecret(maskSecret('sk-ant-api03-0123456789abcd'))).toBe('sk-…abcd');
    expect(maskSecret('…')).toBe('…');
    expect(maskSecret('')).toBe('');
    expect(isMaskedValue('sk-…abcd')).toBe(true);
    expect(isMaskedValue('…')).toBe(true);
    expect(isMaskedValue('sk-ant-api03-0123456789abcd')).toBe(false);
  });

  it('recognises secret keys by name, anywhere', () => {
    for (const key of ['api_key', 'token', 'bot_token', 'oauth_token', 'secret', 'password', 'apiKey', 'client_secret', 'refreshToken']) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['max_tokens', 'conversation_tokens', 'input_tokens', 'name', 'model', 'heartbeat_interval']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('maskSettings leaves no secret value anywhere in the output and keeps everything else', () => {
    const masked = maskSettings(withPluginSecrets);
    expect(maskSettings(masked)).toEqual(masked);
    // Masking keeps "set" intact, so set flags can be read from masked settings too.
    expect(secretStatus(masked)).toEqual(secretStatus(withPluginSecrets));
    const json = JSON.stringify(masked);
    expect(SECRET_VALUES).toHaveLength(8);
    for (const secret of SECRET_VALUES) expect(json).not.toContain(secret);
    expect(masked.models?.anthropic?.api_key).toBe('sk-…abcd');
    expect(masked.agents).toEqual(reference.agents);
    expect(masked['tinyoffice']).toEqual(reference['tinyoffice']);
    // The input is not modified.
    expect(withPluginSecrets.models?.anthropic?.api_key).toBe(reference.models?.anthropic?.api_key);
  });

  it('secretStatus lists the known secret paths and any other secret key, with set flags', () => {
    expect(secretStatus(withPluginSecrets)).toEqual([
      { path: 'models.anthropic.api_key', set: true },
      { path: 'models.anthropic.oauth_token', set: false },
      { path: 'models.openai.api_key', set: true },
      { path: 'channels.discord.bot_token', set: true },
      { path: 'channels.telegram.bot_token', set: true },
      { path: 'custom_providers.local-llama.api_key', set: true },
      { path: 'plugins.notifier.webhookSecret', set: true },
      { path: 'plugins.notifier.auth.password', set: true },
      { path: 'plugins.notifier.auth.refresh_token', set: true },
    ]);
    expect(secretStatus({}).every((s) => !s.set)).toBe(true);
  });

  it('stripUnchangedMasks keeps stored secrets when a client echoes masks back, and passes new values', () => {
    const echoed = maskSettings(withPluginSecrets);
    const restored = stripUnchangedMasks(echoed, withPluginSecrets);
    expect(restored).toEqual(withPluginSecrets);

    const patch = {
      models: { anthropic: { api_key: 'sk-…abcd', model: 'opus' }, openai: { api_key: 'sk-proj-brand-new-key-000000000000' } },
      custom_providers: { fresh: { api_key: 'abc…wxyz', name: 'Fresh' } },
    };
    const stripped = stripUnchangedMasks(patch, reference);
    expect(stripped).toEqual({
      models: { anthropic: { api_key: reference.models?.anthropic?.api_key, model: 'opus' }, openai: { api_key: 'sk-proj-brand-new-key-000000000000' } },
      // A mask for a secret that is not stored is dropped, never written.
      custom_providers: { fresh: { name: 'Fresh' } },
    });
    const merged = deepMergeSettings(reference, stripped) as Settings;
    expect(merged.models?.anthropic).toEqual({ ...reference.models?.anthropic, model: 'opus' });
    expect(merged.custom_providers?.['local-llama']).toEqual(reference.custom_providers?.['local-llama']);
  });

  it("masks a URL's password and secret query parameters, in any string value", () => {
    expect(maskUrlSecrets('postgres://tiny:s3cret@db:5432/tinyagi')).toBe('postgres://tiny:…@db:5432/tinyagi');
    // The last @ ends the user info: a password with an unencoded @ is masked whole.
    expect(maskUrlSecrets('postgresql://tiny:p@ss@db/x?sslmode=require&password=other&sslpassword=k')).toBe('postgresql://tiny:…@db/x?sslmode=require&password=…&sslpassword=…');
    for (const plain of ['postgres://tiny@db/x', 'postgres://db/x', 'https://example.com/a:b@c', 'not a url', 'postgres://tiny:@db/x']) expect(maskUrlSecrets(plain)).toBe(plain);
    expect(hasMaskedUrlSecret('postgres://tiny:…@db/x')).toBe(true);
    expect(hasMaskedUrlSecret('postgres://tiny:s3cret@db/x')).toBe(false);
    const settings = { storage: { url: 'postgres://tiny:s3cret@db/x' }, agents: { a: { system_prompt: 'see https://bot:tok@example.com/hook' } } } as unknown as Settings;
    expect(maskSettings(settings)).toEqual({ storage: { url: 'postgres://tiny:…@db/x' }, agents: { a: { system_prompt: 'see https://bot:tok@example.com/hook' } } });
    // Sent back: restored when it is the stored URL's mask, left out when nothing is stored (an environment override), kept masked (refused on write) when edited.
    expect(stripUnchangedMasks({ storage: { url: 'postgres://tiny:…@db/x' } }, settings)).toEqual({ storage: { url: 'postgres://tiny:s3cret@db/x' } });
    expect(stripUnchangedMasks({ storage: { url: 'postgres://tiny:…@db/x', schema: 's' } }, {})).toEqual({ storage: { schema: 's' } });
    expect(stripUnchangedMasks({ storage: { url: 'postgres://tiny:…@other/x' } }, settings)).toEqual({ storage: { url: 'postgres://tiny:…@other/x' } });
  });
});
