/**
 * `tinyagi channel login whatsapp` against a running daemon whose WhatsApp client is a fixture
 * that shows a QR code and links once "scanned": the command prints the QR code and exits 0
 * when linked; without the channel enabled it says how to enable it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';

const RUNNER = fileURLToPath(new URL('./fixtures/qr-login-channel.ts', import.meta.url));

let h: TestDaemon;
beforeAll(async () => {
  h = await createDaemon();
  h.env['TINYAGI_CHANNEL_RUNNER'] = RUNNER;
  await h.cliOk(['start']);
});
afterAll(async () => {
  await h.cleanup();
});

it('refuses a channel that is not enabled, with the command that enables it', async () => {
  const result = await h.cliHere(['channel', 'login', 'whatsapp']);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('tinyagi channel setup --enable whatsapp');
});

it('prints the QR code to scan and exits once WhatsApp is linked', async () => {
  await h.cliHereOk(['channel', 'setup', '--enable', 'whatsapp']);
  const { child, output } = spawnCli(['channel', 'login', 'whatsapp', '--timeout', '60'], h.env, { build: 'built' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => (/[▄▀█]/.test(output()) ? true : undefined), 30_000, 'the QR code');
  writeFileSync(join(h.home, 'channels', 'whatsapp', 'scanned'), '');
  expect(await exited).toBe(0);
  expect(output()).toContain('WhatsApp is linked.');
});
