/**
 * What B0 drives, each through its own REST API and event stream: our daemon (`tinyagi run`) and,
 * when B0_REFERENCE_DIR names a built checkout of the reference TinyAGI 0.0.20, the reference's
 * daemon (`packages/main/dist/index.js` of that checkout, started with node like ours). Both get a
 * temp HOME and TINYAGI_HOME, a free loopback port, the same 4 agents on the Claude Code
 * provider and the project's fake `claude` first on PATH.
 *
 * The reference is measured, never built here: how to get a checkout is up to whoever runs the
 * bench (docs/benchmarks.md says what the folder must hold).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import { CLI_BUILT, createDaemon, exitOf, FAKE_BIN_DIR, freePort, killTree, tempHome, waitFor, waitForExit, type CliBuild } from '@tinyagi/test-kit';
import { daemonEnv, daemonNodeArgs } from 'tinyagi';

export const AGENTS = ['a1', 'a2', 'a3', 'a4'];

export type PostOutcome = { id: string } | { retryAfterS: number };

export interface MainJobTarget {
  /** The daemon's process id (its CPU and memory are read from /proc). */
  readonly pid: number;
  /** Launches the daemon and resolves once its API answers (our /api/health, the reference's /api/status). */
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
  /** One POST /api/message; the id its reply will carry, or how long a 429 said to wait. */
  post(agent: string, text: string): Promise<PostOutcome>;
  /** Follows the daemon's event stream, calling `onReply` with the id of every reply (repeats included). */
  subscribe(onReply: (id: string) => void): () => void;
  /** Of `ids`, those with a reply on record (covers the gap between a restart and the stream connecting). */
  answered(ids: string[]): Promise<string[]>;
  /** Ours: how many times the agent CLI was started so far. */
  cliStarts?(): number;
  /** Ours: the warm sessions (GET /api/sessions). */
  warmSessions?(): Promise<Array<{ memoryBytes: number | null; turns: number }>>;
  /** Ours: the agents whose sandbox is not enforced (GET /api/agents), each with the reason. */
  unconfinedAgents?(): Promise<string[]>;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(port: number, method: string, path: string, token?: string, body?: unknown): Promise<Response> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: keepAlive,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Follows an SSE stream, calling `onEvent` with each frame's event name and parsed data. */
export function followSse(port: number, path: string, token: string | undefined, onEvent: (event: string, data: Record<string, unknown>) => void): () => void {
  const req = http.get({ host: '127.0.0.1', port, path, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), accept: 'text/event-stream' } }, (res) => {
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let idx = buf.indexOf('\n\n'); idx >= 0; idx = buf.indexOf('\n\n')) {
        const lines = buf.slice(0, idx).split('\n');
        buf = buf.slice(idx + 2);
        const data = lines.find((l) => l.startsWith('data:'));
        if (!data) continue;
        const event =
          lines
            .find((l) => l.startsWith('event:'))
            ?.slice(6)
            .trim() ?? 'message';
        onEvent(event, JSON.parse(data.slice(5)) as Record<string, unknown>);
      }
    });
  });
  req.on('error', () => {});
  return () => req.destroy();
}

function unexpected(what: string, res: Response): Error {
  return new Error(`B0: ${what} answered ${res.status}: ${res.body.slice(0, 300)}`);
}

/**
 * Our daemon: `tinyagi run` from packages/cli/dist (or another build's bin.js), started as
 * `tinyagi start` (what `pnpm start` runs) starts it: node with the daemon's environment
 * (`daemonEnv`) and V8 flags (`DAEMON_NODE_FLAGS`), then `nodeOptions`, from the build's start-up snapshot when it has one
 * (`daemonNodeArgs`; built here if missing, before the clock starts). `bareRun` is a plain
 * `node bin.js run` with `nodeOptions` only, as Docker's CMD starts it (the daemon then replaces
 * itself once to add the flags and the snapshot). `durability` sets `queue.durability`
 * (default "full": an acknowledged write is on disk).
 */
/** B0's warm column and conversation workload (docs/sessions.md): agents with `process: "warm"`, other agents, the pool's cap. */
export interface OurDaemonOptions {
  warm?: boolean;
  /** Agents with `sandbox: "on"` (as `tinyagi agent add` makes them where the boundary holds). */
  sandbox?: boolean;
  agents?: string[];
  maxTotalSessions?: number;
}

export async function ourDaemon(build: CliBuild, nodeOptions: string[] = [], durability: 'full' | 'normal' = 'full', bareRun = false, extra: OurDaemonOptions = {}): Promise<MainJobTarget> {
  // Every start of the agent CLI is counted: a `claude` first on PATH that notes it and runs the fake.
  const shim = mkdtempSync(join(tmpdir(), 'tinyagi-b0-shim-'));
  const starts = join(shim, 'starts');
  writeFileSync(starts, '');
  writeFileSync(join(shim, 'claude'), `#!/bin/sh\necho x >> '${starts}'\nexec '${join(FAKE_BIN_DIR, 'claude')}' "$@"\n`, { mode: 0o755 });
  const agents = extra.agents ?? AGENTS;
  const daemon = await createDaemon({
    build,
    prefix: 'tinyagi-b0-',
    path: [shim, FAKE_BIN_DIR],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'anthropic' },
      agents: Object.fromEntries(agents.map((id) => [id, { name: id.toUpperCase(), provider: 'anthropic', ...(extra.warm ? { process: 'warm' } : {}), ...(extra.sandbox ? { sandbox: 'on' } : {}) }])),
      teams: {},
      channels: { enabled: [] },
      queue: { durability },
      ...(extra.maxTotalSessions ? { sessions: { max_total: extra.maxTotalSessions } } : {}),
    }),
    // As `tinyagi start` launches it: its node arguments and environment (a bare run adds both itself).
    ...(bareRun
      ? { nodeOptions }
      : {
          nodeArgs: daemonNodeArgs({ execArgv: nodeOptions, args: ['run'], bin: typeof build === 'object' ? build.entry : CLI_BUILT, build: true }),
          env: { ...daemonEnv({}) } as Record<string, string>,
        }),
    healthPollMs: 5,
  });
  const { port } = daemon;
  return {
    get pid() {
      return daemon.pid;
    },
    start: () => daemon.start(),
    kill: () => daemon.kill(),
    stop: async () => {
      await daemon.stop();
    },
    cleanup: async () => {
      await daemon.cleanup();
      rmSync(shim, { recursive: true, force: true });
    },
    cliStarts: () => readFileSync(starts, 'utf8').length / 2,
    async warmSessions() {
      const res = await request(port, 'GET', '/api/sessions', daemon.token());
      if (res.status !== 200) throw unexpected('GET /api/sessions', res);
      return (JSON.parse(res.body) as { sessions: Array<{ memoryBytes: number | null; turns: number }> }).sessions;
    },
    async unconfinedAgents() {
      const res = await request(port, 'GET', '/api/agents', daemon.token());
      if (res.status !== 200) throw unexpected('GET /api/agents', res);
      const agents = JSON.parse(res.body) as Array<{ id: string; sandboxStatus: { state: string; reason?: string } }>;
      return agents.filter((a) => a.sandboxStatus.state !== 'enforced').map((a) => `${a.id}: ${a.sandboxStatus.state}${a.sandboxStatus.reason ? ` (${a.sandboxStatus.reason})` : ''}`);
    },
    async post(agent, text) {
      const res = await request(port, 'POST', '/api/message', daemon.token(), { agent, message: text, sender: 'bench', senderId: 'bench' });
      if (res.status === 429) return { retryAfterS: Number(res.headers['retry-after'] ?? 1) };
      if (res.status !== 202) throw unexpected('POST /api/message', res);
      return { id: (JSON.parse(res.body) as { conversationId: string }).conversationId };
    },
    subscribe: (onReply) =>
      followSse(port, '/api/events?types=outbox.enqueued', daemon.token(), (_event, data) => {
        if (typeof data['conversationId'] === 'string') onReply(data['conversationId']);
      }),
    async answered(ids) {
      const found: string[] = [];
      for (const id of ids) {
        const res = await request(port, 'GET', `/api/outbox?conversationId=${id}`, daemon.token());
        if (res.status === 200 && (JSON.parse(res.body) as unknown[]).length > 0) found.push(id);
      }
      return found;
    },
  };
}

/**
 * The reference TinyAGI 0.0.20 from a built checkout: its daemon is `packages/main/dist/index.js`
 * (queue processor and Hono API in one process). It has no token and no /api/health; a reply is
 * its first `message:done` event for the message id we gave the POST; heartbeats are switched
 * off per agent so that it invokes nothing but the 200.
 */
export async function referenceDaemon(dir: string, nodeOptions: string[] = []): Promise<MainJobTarget> {
  const entry = join(dir, 'packages', 'main', 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`B0_REFERENCE_DIR: ${entry} does not exist (a built checkout of TinyAGI 0.0.20 is needed)`);
  const temp = tempHome({ prefix: 'tinyagi-b0-ref-', path: [FAKE_BIN_DIR] });
  const workspace = join(temp.root, 'workspace');
  const settings = {
    workspace: { path: workspace, name: 'workspace' },
    models: { provider: 'anthropic', anthropic: { model: 'sonnet' } },
    agents: Object.fromEntries(AGENTS.map((id) => [id, { name: id.toUpperCase(), provider: 'anthropic', model: 'sonnet', working_directory: join(workspace, id), heartbeat: { enabled: false } }])),
    teams: {},
    channels: { enabled: [] },
    monitoring: { heartbeat_interval: 86_400 },
  };
  writeFileSync(join(temp.home, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  const port = await freePort();
  const env = { ...temp.env, TINYAGI_API_PORT: String(port) };
  let child: ChildProcess | undefined;
  let output = '';
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    get pid() {
      if (child?.pid === undefined) throw new Error('the reference daemon is not started');
      return child.pid;
    },
    async start() {
      if (running()) throw new Error('the reference daemon is already running');
      const spawned = spawn(process.execPath, [...nodeOptions, entry], { cwd: temp.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = spawned;
      spawned.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
      spawned.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
      const exited = exitOf(spawned);
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      void exited.then((e) => (exit = e));
      try {
        await waitFor(
          async () => {
            if (exit) throw new Error(`the reference daemon exited (code ${exit.code}, signal ${exit.signal}) before /api/status answered`);
            try {
              return (await request(port, 'GET', '/api/status')).status === 200;
            } catch {
              return false; // not listening yet
            }
          },
          60_000,
          'the reference daemon to answer GET /api/status',
          5,
        );
      } catch (err) {
        if (running()) killTree(spawned.pid!);
        await exited;
        throw new Error(`${(err as Error).message}\n--- reference output ---\n${output}`);
      }
    },
    async kill() {
      if (!child || !running()) return;
      const exited = exitOf(child);
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!child || !running()) return;
      child.kill('SIGTERM');
      await waitForExit(child, 20_000);
    },
    async cleanup() {
      try {
        if (child && running()) killTree(child.pid!);
      } finally {
        temp.cleanup();
      }
    },
    async post(agent, text) {
      const messageId = `b0_${randomUUID()}`;
      const res = await request(port, 'POST', '/api/message', undefined, { agent, message: text, sender: 'bench', senderId: 'bench', messageId });
      if (res.status === 429) return { retryAfterS: Number(res.headers['retry-after'] ?? 1) };
      if (res.status !== 200) throw unexpected('POST /api/message (reference)', res);
      return { id: messageId };
    },
    subscribe: (onReply) =>
      followSse(port, '/api/events/stream', undefined, (event, data) => {
        if (event === 'message:done' && typeof data['messageId'] === 'string') onReply(data['messageId']);
      }),
    async answered(ids) {
      const res = await request(port, 'GET', '/api/responses?limit=1000');
      if (res.status !== 200) throw unexpected('GET /api/responses (reference)', res);
      const seen = new Set((JSON.parse(res.body) as Array<{ messageId?: string }>).map((r) => r.messageId));
      return ids.filter((id) => seen.has(id));
    },
  };
}
