/**
 * Approvals answered from WhatsApp, end to end (the built daemon, the real channel process on
 * Baileys against the fake WhatsApp, the asking test runtime of packages/cli/test/fixtures): a
 * platform without buttons gets the request as a plain prompt answered by a numbered reply;
 * `2` allows for the session, `4 <reason>` denies with that reason; the chat hears the outcome,
 * and the agent goes on with both answers. A question's suggested answers are numbered too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';
import { FakeWhatsAppServer } from './fakes/wa-server.ts';

const RUNTIME = fileURLToPath(new URL('../../cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const ALICE = '15551239001@s.whatsapp.net';
const socketModule = join(dirname(fileURLToPath(import.meta.url)), 'fakes', 'wa-socket.ts');

let server: FakeWhatsAppServer;
let d: TestDaemon;

beforeAll(async () => {
  server = new FakeWhatsAppServer();
  await server.start();
  d = await createChannelDaemon({
    agents: { careful: { provider: 'asks-test', permission_mode: 'ask' } },
    channels: { enabled: ['whatsapp'], whatsapp: { socket_module: socketModule, fake_url: server.url } },
  });
  mkdirSync(join(d.home, 'kinds'), { recursive: true });
  writeFileSync(join(d.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await d.start();
  await waitFor(async () => (await d.api.channelLogin({ params: { name: 'whatsapp' } })).state === 'qr', 60_000, 'the QR code');
  server.scan();
  await server.until(() => server.connected, 'the device connected');
  await server.text(ALICE, 'hello whatsapp');
  const code = await server.until(() => /pairing code is ([A-Z2-9]{8})/.exec(server.textsTo(ALICE).join('\n'))?.[1], 'the pairing code');
  await d.api.approvePairing({ body: { code } });
  await server.until(() => server.textsTo(ALICE).some((t) => /coder done: hello whatsapp/.test(t)), 'the answer to the held message');
}, 180_000);

afterEach((context) => {
  if (context.task.result?.state === 'fail') {
    let log = '(none)';
    try {
      log = readFileSync(join(d.home, 'logs', 'whatsapp.log'), 'utf8').slice(-4000);
    } catch {}
    console.error(`--- logs/whatsapp.log ---\n${log}\n${d.logs()}\n--- texts to Alice ---\n${server.textsTo(ALICE).join('\n---\n')}`);
  }
});

afterAll(async () => {
  await d?.cleanup();
  await server?.close();
});

const texts = (pattern: RegExp) => server.textsTo(ALICE).filter((t) => pattern.test(t));

it('a plain prompt is answered by a numbered reply: 2 allows for the session, 4 <reason> denies with it', async () => {
  const asks = [
    { tool: 'Bash', input: { command: 'make deploy' } },
    { tool: 'Bash', input: { command: 'make wipe' } },
  ];
  await server.text(ALICE, `@careful ASK:${JSON.stringify(asks)}`);
  const first = await server.until(() => texts(/asks for permission/).find((t) => t.includes('make deploy')), 'the first prompt', 60_000);
  expect(first).toMatch(/Reply .?1.? to allow once, .?2.? to allow for this session, .?3.? to allow always, .?4 <reason>.? to deny/);
  expect(first).toMatch(/Expires at \d\d:\d\d UTC/);
  await server.text(ALICE, '2');
  await server.until(() => texts(/^✅ Allowed for the session by whatsapp:/).length === 1 || undefined, 'the outcome of the first', 60_000);
  const allowed = (await d.api.listApprovals({ query: { agent: 'careful', status: 'allowed' } }))[0]!;
  expect(allowed).toMatchObject({ decision: 'allow_session' });
  expect(allowed.decidedBy).toMatch(/^whatsapp:/);

  await server.until(() => texts(/asks for permission/).find((t) => t.includes('make wipe')), 'the second prompt', 60_000);
  await server.text(ALICE, '4 not on a Friday');
  await server.until(() => texts(/^⛔ Denied by whatsapp:.*: not on a Friday/).length === 1 || undefined, 'the outcome of the second', 60_000);
  const reply = await server.until(() => texts(/Bash: allowed/).find((t) => /Bash: refused/.test(t)), "the agent's reply", 60_000);
  expect(reply).toMatch(/Bash: allowed \(whatsapp:[^)]+\)\nBash: refused \(whatsapp:[^)]+\) denied by whatsapp:\S+: not on a Friday/);
  // The numbers were answers, not messages for the agents: nothing else reached them.
  expect(texts(/coder done: [24]/)).toEqual([]);
}, 240_000);

it("a question's suggested answers are numbered: the number answers it", async () => {
  // A conversation of Alice's chat and its run (the first test's), for a question recorded as the
  // desk records an ask_human question (no runtime of the test kit asks questions); the channel
  // process, restarted, finds it among its channel's pending requests.
  const earlier = (await d.api.listApprovals({ query: { agent: 'careful' } }))[0]!;
  const db = new DatabaseSync(join(d.home, 'tinyagi.db'));
  try {
    db.exec('PRAGMA busy_timeout = 10000');
    db.prepare(
      `INSERT INTO approvals (id, kind, status, agent_id, run_id, conversation_id, session_key, tool, input, summary, requested_at, expires_at)
       VALUES ('apr_wa_question', 'question', 'pending', 'careful', ?, ?, ?, 'ask_human', ?, 'Which region?', ?, ?)`,
    ).run(earlier.runId, earlier.conversationId, earlier.sessionKey, JSON.stringify({ question: 'Which region?', choices: ['eu-west', 'us-east'] }), Date.now(), Date.now() + 600_000);
  } finally {
    db.close();
  }
  const pid = (await d.api.listChannels()).find((c) => c.name === 'whatsapp')!.pid!;
  process.kill(pid, 'SIGKILL');
  const prompt = await server.until(() => texts(/@careful asks:/).find((t) => t.includes('Which region?')), 'the question', 90_000);
  expect(prompt).toContain('Reply with the number of an answer:\n1. eu-west\n2. us-east');
  expect(prompt).toMatch(/\/answer <your answer>/);
  await server.text(ALICE, '2');
  await server.until(() => texts(/^💬 Answered by whatsapp:\S+: us-east/).length === 1 || undefined, 'the outcome', 60_000);
  expect(await d.api.getApproval({ params: { id: 'apr_wa_question' } })).toMatchObject({ status: 'answered', answer: 'us-east' });
}, 240_000);
