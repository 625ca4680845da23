/** Health, status, daemon restart, channel supervision, the log tail and event-stream tickets. */
import { type FileHandle, open } from 'node:fs/promises';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import type { RouteHandlers } from '../routing.ts';
import type { systemContract } from '@tinyagi/client/contract';
import { createTicket } from '../security/tickets.ts';
import { readChannelLogin } from '../channel-login.ts';
import { channelKinds } from '@tinyagi/core';
import { maskUrlSecretsInText, sandboxMachineView } from '../core-internal.ts';
import { type LoginCodeRefusal, loginCookie } from '../security/office-logins.ts';

/** LOGIN_CODE_INVALID's message per reason (details.reason carries the reason for clients). */
const LOGIN_REFUSALS: Record<LoginCodeRefusal, string> = {
  used: 'This login link was already used; a link works once. Run tinyagi office for a new one.',
  expired: 'This login link has expired (links last 5 minutes). Run tinyagi office for a new one.',
  unknown: 'This daemon did not make this login link (it may have restarted since). Run tinyagi office for a new one.',
};

const LOG_TAIL_BYTES = 512 * 1024;

export function systemRoutes(ctx: ServerContext): RouteHandlers<keyof typeof systemContract> {
  const channels = () => {
    const c = ctx.daemon?.channels;
    if (!c) throw new RequestError('NOT_AVAILABLE', 'Channel supervision is not running in this process; start the daemon with `tinyagi start`.');
    return c;
  };
  const restartDaemon = () => {
    const restart = ctx.daemon?.restart;
    if (!restart) throw new RequestError('NOT_AVAILABLE', 'Restart is only available when the server runs inside the daemon (`tinyagi start`).');
    // Answer first; the restart tears this server down.
    setTimeout(() => {
      restart().catch((err: unknown) => ctx.log.error(`restart failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
    }, 100).unref();
    return { ok: true as const, action: 'restart' as const };
  };
  return {
    // A node that cannot keep its heartbeat says so (503) instead of passing for healthy.
    health: () => {
      const problem = ctx.daemon?.problem?.();
      if (problem !== undefined) throw new RequestError('NOT_AVAILABLE', `This node is degraded: ${problem}.`, { status: 'degraded', reason: problem });
      return { ok: true as const, version: ctx.version };
    },

    status: async () => {
      const now = Date.now();
      return {
        ok: true as const,
        version: ctx.version,
        pid: process.pid,
        startedAt: ctx.startedAt,
        uptimeS: Math.round((now - ctx.startedAt) / 1000),
        queue: await ctx.stores.queue.counts(),
        outbox: await ctx.stores.outbox.counts(),
        lastEventId: await ctx.stores.events.lastId(),
        orchestrator: (await ctx.orchestrator.status()) ?? null,
        channels: (await ctx.daemon?.channels?.status()) ?? [],
        heartbeat: ctx.daemon?.heartbeat?.() ?? null,
        storage: ctx.stores.backend,
        nodes: (await ctx.daemon?.nodes?.()) ?? [],
        waitingForNodes: (await ctx.daemon?.waitingForNodes?.()) ?? [],
        sandbox: sandboxMachineView(ctx.daemon?.sandbox?.()),
      };
    },

    restartDaemon: () => restartDaemon(),

    // The old name and path of restartDaemon (docs/api.md: deprecated).
    restartServices: () => restartDaemon(),

    listChannels: async () => (await ctx.daemon?.channels?.status()) ?? [],

    channelLogin: ({ params }) => {
      if (channelKinds.get(params.name)?.login !== 'qr') {
        const qr = channelKinds
          .list()
          .filter((k) => k.login === 'qr')
          .map((k) => k.name);
        throw new RequestError('VALIDATION_FAILED', `Invalid params: name: ${params.name} is not a QR-login channel (${qr.length > 0 ? `those are: ${qr.join(', ')}` : 'none is registered'}).`, {
          issues: [{ path: 'params.name', message: 'not a QR-login channel' }],
        });
      }
      return readChannelLogin(ctx.home, params.name);
    },

    channelAction: async ({ params }) => {
      const supervisor = channels();
      const known = await supervisor.status();
      if (!known.some((c) => c.name === params.name)) {
        throw new RequestError('CHANNEL_NOT_FOUND', `No channel "${params.name}". Known channels: ${known.map((c) => c.name).join(', ') || 'none'} (see channels.enabled in settings.json).`);
      }
      await supervisor[params.action](params.name);
      const status = (await supervisor.status()).find((c) => c.name === params.name);
      return { ok: true as const, channel: params.name, action: params.action, ...(status ? { status } : {}) };
    },

    logs: async ({ query }) => {
      if (!ctx.logFile) throw new RequestError('NOT_AVAILABLE', 'No daemon log in this process; logs are written when the daemon runs (`tinyagi start`).');
      const { lines, truncated } = await tailLines(ctx.logFile, query.lines ?? 200);
      // The daemon's logger masks URL passwords; what reached the file another way (a crash's
      // stderr, a line from before that) is masked here.
      return { file: ctx.logFile, lines: lines.map(maskUrlSecretsInText), truncated };
    },

    createTicket: () => createTicket(ctx.token),

    createLoginCode: ({ auth }) => {
      // A login must not mint the next one (it would outlive its own logout).
      if (auth.kind !== 'token') throw new RequestError('SCOPE_FORBIDDEN', 'Login codes are minted with the API token only (`tinyagi office`).');
      return ctx.logins.mintCode();
    },

    createSession: ({ body, request, reply }) => {
      // Login CSRF: only a page of an allowed origin may plant a login (the Origin was checked against the allowlist already).
      if (request.headers.origin === undefined) throw new RequestError('CSRF_REFUSED');
      const login = ctx.logins.exchange(body.code);
      if ('refused' in login) throw new RequestError('LOGIN_CODE_INVALID', LOGIN_REFUSALS[login.refused], { reason: login.refused });
      reply.header('set-cookie', loginCookie(login.loginId, login.expiresAt - Date.now()));
      reply.header('cache-control', 'no-store');
      return { ok: true as const, expiresAt: login.expiresAt };
    },

    // The API still names a login `session` (the operations and `kind`), for the clients that use them (docs/glossary.md).
    getSession: ({ auth }) => ({ kind: auth.kind === 'login' ? ('session' as const) : ('token' as const), expiresAt: auth.kind === 'login' ? auth.expiresAt : null }),

    deleteSession: ({ auth, reply }) => {
      if (auth.kind === 'login') ctx.logins.revoke(auth.loginId);
      reply.header('set-cookie', loginCookie('', 0));
      return { ok: true as const };
    },
  };
}

/** The last `count` lines of a file, reading at most LOG_TAIL_BYTES from its end. */
async function tailLines(file: string, count: number): Promise<{ lines: string[]; truncated: boolean }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], truncated: false };
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const all = buffer.toString('utf8').split(/\r?\n/);
    if (all.at(-1) === '') all.pop();
    // A window that starts mid-file starts mid-line: drop the partial first line.
    if (length < size) all.shift();
    return { lines: all.slice(-count), truncated: length < size || all.length > count };
  } finally {
    await handle.close();
  }
}
