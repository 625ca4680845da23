/**
 * The proof that a new channel is one folder: a throw-away channel kind, `parrot`, lives in a
 * test folder (fixtures/parrot-channel: a descriptor and a trivial adapter) and is registered
 * the way a plugin's is (a module in TINYAGI_HOME/kinds/). Nothing else in the product names it,
 * yet settings validation checks its block, its secret is masked and its environment variable
 * applies, `tinyagi channel --help`, `channel list`, doctor and GET /api/kinds show it, a reply
 * to a message from it waits in the outbox for its client — and once enabled, the daemon runs
 * its adapter, which delivers that reply.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '@tinyagi/client';
import { channelKinds } from '@tinyagi/core';
import { maskSettings, validateSettings } from '@tinyagi/core/internal';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { parrotKind } from './fixtures/parrot-channel/kind.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/parrot-channel/kind.ts', import.meta.url));
const FILE_PHRASE = 'polly-wants-a-cracker-from-the-file';
const ENV_PHRASE = 'polly-wants-a-cracker-from-the-environment';

describe('a channel kind registered from a test folder, in this process', () => {
  let unregister: () => void;
  beforeAll(() => {
    unregister = channelKinds.register(parrotKind);
  });
  afterAll(() => unregister());

  it('has its block validated, with the path of the bad value, and its declared secret masked', () => {
    const bad = validateSettings({ channels: { parrot: { cage_size: 'huge' } } });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(['channels.parrot.cage_size']);
    expect(validateSettings({ channels: { enabled: ['parrot'], parrot: { cage_size: 3, perch_phrase: FILE_PHRASE } } }).ok).toBe(true);
    const masked = maskSettings({ channels: { parrot: { perch_phrase: FILE_PHRASE } } });
    expect(JSON.stringify(masked)).not.toContain(FILE_PHRASE);
  });
});

describe('a channel kind from TINYAGI_HOME/kinds/ in the tinyagi processes', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await createDaemon({
      prefix: 'tinyagi-kinds-',
      env: { PARROT_PERCH_PHRASE: ENV_PHRASE },
      settings: ({ root }) => ({
        workspace: { path: join(root, 'workspace') },
        models: { provider: 'mock' },
        agents: { coder: { provider: 'mock', mock: { reply: 'squawk: {{message}}' } } },
        channels: { enabled: [], parrot: { perch_phrase: FILE_PHRASE, cage_size: 3 } },
      }),
    });
    // What a plugin's channel installs: one module that exports its kinds.
    mkdirSync(join(d.home, 'kinds'), { recursive: true });
    writeFileSync(join(d.home, 'kinds', 'parrot.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
    await d.start();
  });
  afterAll(async () => {
    await d?.cleanup();
  });

  it('is in the CLI: `channel --help`, the setup flags from its secrets and settings, `channel list`', async () => {
    expect(await d.cliHereOk(['channel', '--help'])).toMatch(/chat channels \(discord, parrot, slack, telegram, whatsapp\)/);
    const setup = await d.cliHereOk(['channel', 'setup', '--help']);
    expect(setup).toContain('--parrot-perch-phrase <secret>');
    expect(setup).toContain('--parrot-cage-size <value>');
    expect(await d.cliHereOk(['channel', 'list'])).toMatch(/^parrot\s+no\s+disabled/m);
  });

  it('is in GET /api/kinds with the JSON Schema of its block', async () => {
    const kinds = await d.api.listKinds();
    const parrot = kinds.channels.find((k) => k.name === 'parrot');
    expect(parrot).toMatchObject({ title: 'Parrot', secrets: ['perch_phrase'], env: [{ variable: 'PARROT_PERCH_PHRASE', path: 'perch_phrase' }], login: 'token' });
    const properties = (parrot?.settings as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    // Its own keys, then the settings every channel takes (the channel host's: live_replies).
    expect(Object.keys(properties)).toEqual(['perch_phrase', 'cage_size', 'live_replies']);
  });

  it('has its environment variable applied and its secret masked in GET /api/settings, and listed in the secret status', async () => {
    const settings = await d.api.getSettings();
    const text = JSON.stringify(settings);
    expect(text).not.toContain(ENV_PHRASE);
    expect(text).not.toContain(FILE_PHRASE);
    // The environment's value wins (its mask shows its last four characters), and the file keeps its own.
    expect((settings.channels as Record<string, { perch_phrase?: string }>)['parrot']?.perch_phrase).toBe(`${ENV_PHRASE.slice(0, 3)}…${ENV_PHRASE.slice(-4)}`);
    expect(readFileSync(join(d.home, 'settings.json'), 'utf8')).toContain(FILE_PHRASE);
    const status = await d.api.getSecretStatus();
    expect(status.secrets).toContainEqual({ path: 'channels.parrot.perch_phrase', set: true });
  });

  it('has a bad value in its block refused with its path', async () => {
    const refused = await d.api.patchSettings({ body: { channels: { parrot: { cage_size: 'huge' } } } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isApiError(refused)).toBe(true);
    expect(String((refused as Error).message)).toContain('channels.parrot.cage_size');
    const offline = await d.cliHere(['channel', 'setup', '--parrot-cage-size', '0']);
    expect(offline.code).not.toBe(0);
    expect(offline.stderr).toContain('--parrot-cage-size:');
  });

  it('keeps a reply to a message from it pending for its client, which delivers it once the channel is enabled', async () => {
    await d.api.sendMessage({ body: { message: 'hello parrot', agent: 'coder', channel: 'parrot', sender: 'Ada', senderId: 'ada-1' } });
    const reply = await waitFor(
      async () => (await d.api.listOutbox({ query: { channel: 'parrot', limit: 10 } })).find((r) => r.text.includes('squawk: hello parrot')),
      30_000,
      'the reply to parrot in the outbox',
    );
    expect(reply.status).toBe('pending');

    // Doctor and the daemon see the kind once it is enabled; the daemon starts its adapter (adapterModule).
    await d.cliHereOk(['channel', 'setup', '--enable', 'parrot']);
    const doctor = await d.cliHere(['doctor']);
    expect(doctor.stdout).toContain('parrot perch phrase is set');
    await waitFor(
      async () => (await d.api.listOutbox({ query: { channel: 'parrot', limit: 10 } })).find((r) => r.id === reply.id && r.status === 'delivered'),
      30_000,
      'the parrot client to deliver the reply',
    );
    const log = join(d.home, 'logs', 'parrot.log');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('parrot says to'), 10_000, 'the parrot adapter to log its send');
    expect(readFileSync(log, 'utf8')).toContain('squawk: hello parrot');
  });
});
