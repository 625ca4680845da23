/**
 * The proof that an agent runtime is one folder and one line (docs/kinds.md, "Runtimes"): a
 * throw-away runtime from a test folder (fixtures/throwaway-runtime/: runtime.ts, a descriptor and
 * a trivial implementation, and the command it names), installed as a plugin's is (one line: a
 * module in TINYAGI_HOME/kinds/ exporting `runtimes`), is accepted by settings validation (and an
 * unregistered name refused with the list), has its agents' block checked and handed to it,
 * listed in the CLI's help, checked by doctor (its command, and that command's version against
 * the versions its descriptor was verified with), named in traces as its descriptor says, served
 * by GET /api/kinds, and an agent on it answers a message through the daemon, run from source.
 * Nothing else in the product names it. The CLI's commands run in this process (`cliHere`), which
 * loads the home's kind modules as a `tinyagi` process does.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isApiError } from '@tinyagi/client';
import { providerName } from '@tinyagi/otel';
import { createDaemon, runCliHere, runCliHereOk, tempHome, type TestDaemon } from '@tinyagi/test-kit';

const FIXTURE = fileURLToPath(new URL('./fixtures/throwaway-runtime/', import.meta.url));
const RUNTIME = 'echo-test';

let h: TestDaemon;

beforeAll(async () => {
  h = await createDaemon({
    prefix: 'tinyagi-runtime-kind-',
    build: 'source',
    path: [FIXTURE],
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: { echo: { provider: RUNTIME }, loud: { provider: RUNTIME, [RUNTIME]: { prefix: 'LOUD' } }, plain: { provider: 'mock' } },
      channels: { enabled: [] },
    }),
  });
  // What a plugin's runtime installs: one module that exports it.
  mkdirSync(join(h.home, 'kinds'), { recursive: true });
  writeFileSync(join(h.home, 'kinds', 'echo-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(`${FIXTURE}runtime.ts`).href)};\n`);
  await h.start();
});

afterAll(async () => {
  await h?.cleanup();
});

it('an agent on the throw-away runtime answers a message through the daemon', async () => {
  const out = await h.cliHereOk(['send', '--agent', 'echo', '--wait', 'ping from the test']);
  expect(out).toContain('echo-test heard: ping from the test');
});

it("an agent's block of the runtime reaches it, and a bad one is refused by settings validation with its path", async () => {
  expect(await h.cliHereOk(['send', '--agent', 'loud', '--wait', 'ping'])).toContain('LOUD: ping');
  const refused = await h.api.putAgent({ params: { id: 'quiet' }, body: { name: 'Quiet', provider: RUNTIME, [RUNTIME]: { prefix: '' } } }).catch((err: unknown) => err);
  expect(isApiError(refused, 'CONFIG_INVALID')).toBe(true);
  expect((refused as Error).message).toContain(`agents.quiet.${RUNTIME}.prefix`);
});

it('GET /api/kinds serves its descriptor beside the built-in runtimes', async () => {
  const { runtimes } = await h.api.listKinds();
  expect(runtimes.map((r) => r.name)).toEqual(['acp', 'anthropic-api', 'claude-code', 'codex', RUNTIME, 'mock', 'openai-api', 'opencode']);
  expect(runtimes.find((r) => r.name === RUNTIME)).toMatchObject({
    family: 'runtime',
    title: 'Echo test runtime',
    command: 'tinyagi-echo-test',
    customProvider: null,
    settings: { type: 'object', properties: { prefix: { type: 'string' } } },
    verifiedVersions: { pinned: '1.0.0', min: '1.0.0', below: '1.1.0' },
    telemetryProvider: 'echo-labs',
  });
});

it('settings validation accepts it and refuses a name nobody registered, listing the registered ones', async () => {
  await h.api.putAgent({ params: { id: 'second' }, body: { name: 'Second', provider: RUNTIME } });
  expect((await h.api.getAgent({ params: { id: 'second' } })).provider).toBe(RUNTIME);
  const refused = await h.api.putAgent({ params: { id: 'third' }, body: { name: 'Third', provider: 'nobody-registered-this' } }).catch((err: unknown) => err);
  expect(isApiError(refused, 'CONFIG_INVALID')).toBe(true);
  expect((refused as Error).message).toContain('Unknown provider "nobody-registered-this"');
  expect((refused as Error).message).toContain(`"${RUNTIME}"`);
});

it("the CLI's help and argument check list it", async () => {
  const help = await h.cliHereOk(['agent', 'add', '--help']);
  expect(help.replace(/\s+/g, ' ')).toContain(`anthropic-api, claude-code, codex, ${RUNTIME}, mock, openai-api, opencode or custom:<id>`);
  const bad = await h.cliHere(['agent', 'add', 'x', '--provider', 'nobody-registered-this']);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('Unknown provider "nobody-registered-this"');
  expect(bad.stderr).toContain(RUNTIME);
});

it('doctor looks for its command and checks the agents on it', async () => {
  const result = await h.cliHere(['doctor', '--json']);
  const { findings } = JSON.parse(result.stdout) as { findings: Array<{ check: string; status: string; message: string }> };
  expect(findings.find((f) => f.check === 'cli:tinyagi-echo-test')).toMatchObject({ status: 'ok', message: expect.stringContaining(`Echo test runtime found at ${FIXTURE}tinyagi-echo-test`) });
  // Its agents are checked like any CLI agent's (`agent:<id>` fails when the command is missing): it is there.
  expect(findings.filter((f) => f.check === 'agent:echo')).toEqual([]);
  // Its command's version, against the versions its descriptor says it was verified with.
  expect(findings.find((f) => f.check === 'version:tinyagi-echo-test')).toMatchObject({
    status: 'ok',
    message: expect.stringMatching(/^Echo test runtime 1\.0\.0 \(verified: >=1\.0\.0 <1\.1\.0\) \(agents echo, loud\b/),
  });
});

it('traces name its provider as its descriptor says', async () => {
  await h.cliHereOk(['agent', 'list']); // this process has loaded the home's kind modules
  expect(providerName(RUNTIME, undefined)).toBe('echo-labs');
});

it('nothing in the product names it: the fixture folder and the one line in TINYAGI_HOME/kinds/ are all it takes', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const sources = readdirSync(join(root, 'packages'))
    .filter((p) => p !== 'test-kit')
    .flatMap((p) => {
      try {
        return readdirSync(join(root, 'packages', p, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(root, 'packages', p, 'src', f));
      } catch {
        return [];
      }
    })
    .filter((f) => /\.(?:ts|tsx|mts|js|mjs)$/.test(f));
  expect(sources.length).toBeGreaterThan(200);
  expect(sources.filter((f) => readFileSync(f, 'utf8').includes(RUNTIME))).toEqual([]);
  expect(
    readFileSync(join(h.home, 'kinds', 'echo-test.mjs'), 'utf8')
      .trim()
      .split('\n'),
  ).toHaveLength(1);
});

it("doctor tells a file with the old runtime names and keys (a custom provider's harness, the mock's rules) that they still work; the next change through the CLI renames them", async () => {
  const temp = tempHome({ prefix: 'tinyagi-old-names-' });
  try {
    const file = join(temp.home, 'settings.json');
    const old = {
      models: { provider: 'anthropic' },
      agents: { a: { provider: 'openai' }, m: { provider: 'mock', mock: { reply: 'hi', rules: [{ match: 'build', reply: 'Built.' }] } } },
      custom_providers: { llama: { harness: 'openai', base_url: 'http://127.0.0.1:8080/v1' } },
    };
    writeFileSync(file, JSON.stringify(old), { mode: 0o600 });
    const { findings } = JSON.parse((await runCliHere(['doctor', '--json'], temp.env)).stdout) as { findings: Array<{ check: string; status: string; message: string }> };
    const finding = findings.find((f) => f.check === 'runtime-names');
    expect(finding).toMatchObject({ status: 'info' });
    expect(finding?.message).toContain('agents.a.provider "openai" (now "codex")');
    expect(finding?.message).toContain('custom_providers.llama.harness "openai" (now custom_providers.llama.runtime "openai-api")');
    expect(findings.find((f) => f.check === 'mock-replies')).toMatchObject({ status: 'info', message: expect.stringContaining('agents.m.mock.rules (now mock.replies)') });
    // Reading (doctor, agent list) never rewrote the file; the list shows the new names.
    expect(await runCliHereOk(['agent', 'list'], temp.env)).toMatch(/a\s+a?\s*codex/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(old);
    await runCliHereOk(['agent', 'add', 'b', '--provider', 'mock'], temp.env);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      models: { provider: 'claude-code' },
      agents: { a: { provider: 'codex' }, b: { provider: 'mock' } },
      custom_providers: { llama: { runtime: 'openai-api', base_url: 'http://127.0.0.1:8080/v1' } },
    });
    expect(JSON.parse(readFileSync(file, 'utf8')).custom_providers.llama).not.toHaveProperty('harness');
    expect(JSON.parse(readFileSync(file, 'utf8')).agents.m.mock).toEqual({ reply: 'hi', replies: [{ match: 'build', reply: 'Built.' }] });
  } finally {
    temp.cleanup();
  }
});
