/**
 * `tinyagi doctor` with `memory.embeddings` set: ok when the endpoint (a fake OpenAI-compatible one
 * on a loopback port) embeds, a warning naming the missing key variable when it refuses, none at
 * all when embeddings are not set. No daemon runs here: the environment is the shell's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempHome } from '@tinyagi/test-kit';
import { startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { afterAll, expect, it } from 'vitest';
import { cliContext } from '../src/context.ts';
import { runDoctor } from '../src/doctor/checks.ts';

afterAll(() => cleanupTemp());

it('doctor asks the embeddings endpoint when one is set, and names the missing key variable', async () => {
  const fake = await startFakeEmbeddings({ apiKey: 'sk-doctor-key' });
  try {
    const home = tempHome();
    const settingsFile = join(home.home, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ agents: { bot: { provider: 'mock' } } }));
    expect((await runDoctor(cliContext({}, home.env), { fix: false })).filter((f) => f.check === 'memory-embeddings')).toEqual([]);

    writeFileSync(
      settingsFile,
      JSON.stringify({ agents: { bot: { provider: 'mock' } }, memory: { embeddings: { base_url: fake.baseUrl, model: 'text-embedding-3-small', api_key_env: 'EMBED_KEY' } } }),
    );
    const missing = (await runDoctor(cliContext({}, home.env), { fix: false })).find((f) => f.check === 'memory-embeddings');
    expect(missing).toMatchObject({ status: 'warn', message: expect.stringContaining('answered 401: Incorrect API key provided.'), hint: expect.stringContaining('Set EMBED_KEY') });
    const ok = (await runDoctor(cliContext({}, { ...home.env, EMBED_KEY: 'sk-doctor-key' }), { fix: false })).find((f) => f.check === 'memory-embeddings');
    expect(ok).toEqual({ check: 'memory-embeddings', status: 'ok', message: `Memory embeddings: ${fake.baseUrl}/embeddings (model text-embedding-3-small) answers (64 dimensions).` });
  } finally {
    await fake.close();
  }
}, 60_000);
