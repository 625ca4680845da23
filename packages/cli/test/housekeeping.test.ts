/**
 * The daemon's housekeeping on real files and a real database: retention (tables and the
 * files/ directory, symlinks never followed), periodic outbox expiry, and the TTY spinner
 * (with a plain object standing in for the terminal stream).
 */
import { existsSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores, ReplyDelivery, type SqliteStores } from '@tinyagi/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepOldFiles } from '../src/daemon/file-retention.ts';
import { createLogger } from '../src/daemon/logger.ts';
import { startOutboxExpiry } from '../src/daemon/outbox-expiry.ts';
import { startRetention } from '../src/daemon/retention.ts';
import { RotatingLog } from '../src/daemon/rotating-log.ts';
import { startSpinner, withSpinner } from '../src/output/spinner.ts';
import { waitFor } from '@tinyagi/test-kit';

const DAY = 86_400_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-housekeeping-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(path: string, content: string, ageMs = 0): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  if (ageMs > 0) {
    const t = new Date(Date.now() - ageMs);
    utimesSync(path, t, t);
  }
  return path;
}

function ageDir(path: string, ageMs: number): void {
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}

describe('sweepOldFiles', () => {
  it('deletes old files and old emptied directories, keeps new ones and the root, and never follows a link out', async () => {
    const files = join(dir, 'home', 'files');
    const outside = join(dir, 'outside');
    const secret = file(join(outside, 'settings.json'), '{"api_key":"x"}', 30 * DAY);
    const outsideOld = file(join(outside, 'dir', 'old.txt'), 'not ours', 30 * DAY);

    const oldTop = file(join(files, 'old.pdf'), 'x'.repeat(100), 20 * DAY);
    const newTop = file(join(files, 'new.png'), 'fresh');
    const oldNested = file(join(files, 'inbound', 'telegram', 'a.jpg'), 'y'.repeat(50), 20 * DAY);
    const keptNested = file(join(files, 'replies', 'b.md'), 'recent');
    const oldInReplies = file(join(files, 'replies', 'c.md'), 'old', 20 * DAY);
    ageDir(join(files, 'inbound', 'telegram'), 20 * DAY);
    ageDir(join(files, 'inbound'), 20 * DAY);
    ageDir(join(files, 'replies'), 20 * DAY);

    // An old link to a file outside, and a link to a directory outside: removed as links at most.
    const linkToFile = join(files, 'leak.json');
    symlinkSync(secret, linkToFile);
    lutimesSync(linkToFile, new Date(Date.now() - 20 * DAY), new Date(Date.now() - 20 * DAY));
    const linkToDir = join(files, 'elsewhere');
    symlinkSync(join(outside, 'dir'), linkToDir);

    const result = await sweepOldFiles(files, Date.now() - 14 * DAY);

    expect(existsSync(oldTop)).toBe(false);
    expect(existsSync(oldNested)).toBe(false);
    expect(existsSync(oldInReplies)).toBe(false);
    expect(existsSync(join(files, 'inbound'))).toBe(false); // old and emptied, recursively
    expect(existsSync(newTop)).toBe(true);
    expect(existsSync(keptNested)).toBe(true);
    expect(existsSync(files)).toBe(true);
    expect(existsSync(linkToFile)).toBe(false);
    expect(readFileSync(secret, 'utf8')).toBe('{"api_key":"x"}');
    expect(existsSync(outsideOld)).toBe(true); // the linked directory was not entered
    expect(existsSync(linkToDir)).toBe(true); // the link itself is new
    expect(result).toEqual({ files: 4, bytes: 153, dirs: 2, errors: 0 });

    // Everything old: the root stays, empty.
    rmSync(newTop);
    rmSync(keptNested);
    rmSync(linkToDir);
    ageDir(join(files, 'replies'), 20 * DAY);
    expect(await sweepOldFiles(files, Date.now() - 14 * DAY)).toMatchObject({ dirs: 1 });
    expect(existsSync(files)).toBe(true);
  });

  it('is a no-op when the directory does not exist', async () => {
    expect(await sweepOldFiles(join(dir, 'missing'), Date.now())).toEqual({ files: 0, bytes: 0, dirs: 0, errors: 0 });
  });
});

describe('startRetention', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'normal' });
  });
  afterEach(() => stores.close());

  it('prunes the tables and files/ in one pass and logs the counts', async () => {
    const old = Date.now() - 30 * DAY;
    stores.agentMessages.append({ agentId: 'coder', role: 'user', channel: 'api', content: 'old' });
    stores.db.sqlite.prepare('UPDATE agent_messages SET created_at = ?').run(old);
    stores.chatroom.post({ teamId: 'dev', fromAgent: 'user', content: 'old post' });
    stores.db.sqlite.prepare('UPDATE chatroom_messages SET created_at = ?').run(old);
    stores.agentSessions.recordTurn('coder', 'k', { provider: 'mock', user: 'u', assistant: 'a' });
    stores.db.sqlite.prepare('UPDATE agent_sessions SET updated_at = ?').run(old);
    const files = join(dir, 'files');
    const oldFile = file(join(files, 'old.txt'), 'abc', 30 * DAY);
    const newFile = file(join(files, 'new.txt'), 'abc');

    const logFile = join(dir, 'logs', 'daemon.log');
    const log = new RotatingLog({ file: logFile });
    const retention = startRetention(stores, () => ({ retention: { days: 7 } }), createLogger({ file: log }), { filesDir: files });
    try {
      const pass = await retention.runNow();
      expect(pass?.days).toBe(7);
      expect(pass?.pruned).toMatchObject({ agentMessages: 1, chatroom: 1, sessions: 1 });
      expect(pass?.files).toMatchObject({ files: 1, bytes: 3 });
    } finally {
      retention.stop();
      log.close();
    }
    expect(existsSync(oldFile)).toBe(false);
    expect(existsSync(newFile)).toBe(true);
    const line = readFileSync(logFile, 'utf8');
    expect(line).toContain('retention (7 days) pruned');
    expect(line).toContain('1 agent chat message, 1 chat-room post, 1 idle session, 1 file (3 B)');
  });
});

describe('startOutboxExpiry', () => {
  it('expires overdue replies at start and then on its interval, with an outbox.expired event', async () => {
    const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'normal' });
    try {
      const overdue = stores.outbox.enqueue({ idempotencyKey: 'a', channel: 'telegram', text: 'never claimed', ttlMs: 1 }).row;
      await new Promise((r) => setTimeout(r, 5));
      const expiry = startOutboxExpiry(new ReplyDelivery(stores), createLogger({}), 50);
      try {
        expect(stores.outbox.get(overdue.id)?.status).toBe('expired'); // at start, no client polling
        const later = stores.outbox.enqueue({ idempotencyKey: 'b', channel: 'discord', text: 'also never claimed', ttlMs: 100 }).row;
        await waitFor(() => (stores.outbox.get(later.id)?.status === 'expired' ? true : undefined), 5000, 'the periodic expiry');
      } finally {
        expiry.stop();
      }
      stores.events.flush();
      const events = stores.events.readSince(0, { types: ['outbox.expired'] });
      expect(events.map((e) => e.data['channel'])).toEqual(['telegram', 'discord']);
    } finally {
      stores.close();
    }
  });
});

describe('spinner', () => {
  function fakeStream(isTTY: boolean) {
    const chunks: string[] = [];
    return { stream: { isTTY, write: (s: string) => chunks.push(s) }, chunks };
  }

  it('animates on a TTY, on stderr-like streams only, and clears its line when stopped', async () => {
    const { stream, chunks } = fakeStream(true);
    const spinner = startSpinner('Starting TinyAGI…', { stream, env: {}, intervalMs: 10 });
    await waitFor(() => (chunks.length >= 3 ? true : undefined), 2000, 'frames');
    spinner.update('Still starting…');
    const before = chunks.length;
    await waitFor(() => (chunks.length > before ? true : undefined), 2000, 'a frame with the new text');
    spinner.stop();
    spinner.stop();
    const count = chunks.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(chunks.length).toBe(count); // no frame after stop
    expect(chunks[0]).toBe('\r\u001b[2K\u001b[36m⠋\u001b[39m Starting TinyAGI…');
    expect(chunks.at(-2)).toContain('Still starting…');
    expect(chunks.at(-1)).toBe('\r\u001b[2K');
  });

  it('writes nothing when the stream is not a TTY, when disabled (--json), on TERM=dumb, or for a wait shorter than a frame', async () => {
    for (const [isTTY, options] of [
      [false, { env: {} }],
      [true, { env: {}, enabled: false }],
      [true, { env: { TERM: 'dumb' } }],
    ] as const) {
      const { stream, chunks } = fakeStream(isTTY);
      const result = await withSpinner(
        'Stopping…',
        async () => {
          await new Promise((r) => setTimeout(r, 40));
          return 42;
        },
        { ...options, stream, intervalMs: 5 },
      );
      expect(result).toBe(42);
      expect(chunks).toEqual([]);
    }
    const { stream, chunks } = fakeStream(true);
    await withSpinner('quick', async () => undefined, { stream, env: {}, intervalMs: 1000 });
    expect(chunks).toEqual([]);
  });

  it('drops colour with NO_COLOR, and clears the line before an error propagates', async () => {
    const { stream, chunks } = fakeStream(true);
    const failure = withSpinner(
      'Restarting…',
      async () => {
        await new Promise((r) => setTimeout(r, 40));
        throw new Error('did not come back');
      },
      { stream, env: { NO_COLOR: '1' }, intervalMs: 5 },
    );
    await expect(failure).rejects.toThrow('did not come back');
    expect(chunks.length).toBeGreaterThan(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about ANSI colour escapes
    expect(chunks.join('')).not.toMatch(/\u001b\[3\dm/);
    expect(chunks[0]).toBe('\r\u001b[2K⠋ Restarting…');
    expect(chunks.at(-1)).toBe('\r\u001b[2K');
  });
});
