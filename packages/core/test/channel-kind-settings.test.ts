/**
 * A channel kind's part of settings (docs/kinds.md): its block validated against its schema, its
 * declared secrets masked and restored, its environment bindings applied and never written back
 * — for a kind registered here and nowhere else, and not once it is unregistered.
 */
import * as z from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { defineChannelKind } from '@tinyagi/client/contract';
import { applyEnvOverrides, stripEnvOverrides } from '../src/config/env.ts';
import { maskSettings, secretPaths, secretStatus, stripUnchangedMasks } from '../src/config/secrets.ts';
import { validateSettings } from '../src/config/validate.ts';
import type { Settings } from '../src/config/schema.ts';
import { channelKinds } from '../src/kinds/index.ts';

const PHRASE = 'a-long-enough-phrase-to-show-its-ends';

const heron = defineChannelKind({
  name: 'heron',
  title: 'Heron',
  description: 'A throw-away channel kind.',
  settings: z.looseObject({ pond_phrase: z.string().optional(), depth: z.number().int().positive().optional() }),
  secrets: ['pond_phrase'],
  env: [{ variable: 'HERON_POND_PHRASE', path: 'pond_phrase' }],
  login: 'token',
  processEnv: [],
  maxMessageChars: 500,
  capabilities: { threads: false, editsMessages: false, privateReplies: false, files: false, buttons: false },
});

let undo: (() => void) | undefined;
afterEach(() => {
  undo?.();
  undo = undefined;
});

describe('a registered channel kind in settings', () => {
  it('has its block checked, every bad value named by its path; other keys of the block are kept', () => {
    undo = channelKinds.register(heron);
    const bad = validateSettings({ channels: { heron: { depth: -1, pond_phrase: 7 } } });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path).sort()).toEqual(['channels.heron.depth', 'channels.heron.pond_phrase']);
    expect(validateSettings({ channels: { heron: 'deep' } }).ok).toBe(false);
    expect(validateSettings({ channels: { enabled: ['heron'], heron: { depth: 2, future_key: true } } }).ok).toBe(true);
  });

  it('checks the settings every channel takes (live_replies) in a kind whose schema leaves them out, once each', () => {
    undo = channelKinds.register(heron);
    const bad = validateSettings({ channels: { heron: { live_replies: 'loud' } } });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(['channels.heron.live_replies']);
    for (const mode of ['off', 'status', 'text']) expect(validateSettings({ channels: { heron: { live_replies: mode } } }).ok).toBe(true);
  });

  it('leaves the block of a kind that is not registered as it is', () => {
    expect(validateSettings({ channels: { heron: { depth: -1 } } }).ok).toBe(true);
    undo = channelKinds.register(heron);
    expect(validateSettings({ channels: { heron: { depth: -1 } } }).ok).toBe(false);
  });

  it('masks its declared secret although the key does not look like one, lists it, and restores it when a mask comes back', () => {
    const settings = { channels: { heron: { pond_phrase: PHRASE, depth: 2 } } };
    expect(JSON.stringify(maskSettings(settings))).toContain(PHRASE);
    undo = channelKinds.register(heron);
    expect(secretPaths()).toContain('channels.heron.pond_phrase');
    const masked = maskSettings(settings);
    expect(JSON.stringify(masked)).not.toContain(PHRASE);
    expect(secretStatus(settings)).toContainEqual({ path: 'channels.heron.pond_phrase', set: true });
    expect(stripUnchangedMasks(masked, settings)).toEqual(settings);
  });

  it('takes its environment binding over the file, and never writes it back', () => {
    undo = channelKinds.register(heron);
    const env = { HERON_POND_PHRASE: 'from-the-environment' };
    const file = { channels: { heron: { pond_phrase: 'from-the-file' } } } as Settings;
    const { settings, applied } = applyEnvOverrides(file, env);
    expect(applied).toContain('HERON_POND_PHRASE');
    expect(settings.channels?.['heron']).toMatchObject({ pond_phrase: 'from-the-environment' });
    expect(stripEnvOverrides(settings, () => file, env)).toEqual(file);
  });
});
