/**
 * B19: what the sandbox adds (docs/sandbox.md), beside the unconfined path in the same run.
 *
 * Model proxy: the test kit's stand-in model server is the upstream; a ModelProxy (as the daemon
 * starts it, one agent per API family, an invocation begun so the upstream is known) sits in
 * front. Streamed Anthropic Messages and OpenAI Responses requests with a ~2 KB reply are sent
 * to the stand-in directly and through the proxy, alternating (which goes first alternates too),
 * each on a connection of its own (the proxy closes each: the direct path does the same, for
 * like against like); the latency is from the request's start until its last byte is read. Then
 * one large streamed reply (B19_LARGE_MB) the same two ways, B19_LARGE_RUNS times: the client,
 * the stand-in and the proxy all run in this process, so process.cpuUsage() around a proxied
 * stream minus that around a direct one is the proxy's CPU for those bytes.
 *
 * Boundary: a trivial command (`true`; node running a script that prints a line and exits)
 * started directly (spawned as the invoker spawns an unconfined CLI) and inside the boundary
 * (Boundary.wrap as the invoker calls it, then the wrapped spawn with its control pipe), timed
 * from before wrap() until the process has exited (exit code 0 and the printed line checked).
 * A message on a per-message agent pays the difference once per message; a warm session once
 * per session.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ModelProxy } from '@tinyagi/core/internal';
import { startModelServer, type ModelServer } from '@tinyagi/test-kit';
import { type Boundary, memoryCgroupBase, quickCheck, SandboxHost } from '@tinyagi/sandbox';
import { percentile } from './machine.ts';

export interface SandboxBenchOptions {
  /** Requests of each API on each path (~2 KB replies). */
  requests: number;
  /** The large reply's size in MB. */
  largeMb: number;
  largeRuns: number;
  /** Starts of each command on each path. */
  starts: number;
}

const SMALL_REPLY = 'The quick brown fox jumps over the lazy dog. '.repeat(46).slice(0, 2048);
const LARGE_MODEL = 'bench-large';

interface Path {
  label: string;
  url: string;
  headers: Record<string, string>;
}

interface Fetched {
  ms: number;
  bytes: number;
  text?: string;
}

/** POSTs `body` on a connection of its own; resolves when the response's last byte is read. */
function post(url: string, headers: Record<string, string>, body: string, keepText: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keepText) chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: status ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
        resolve({ ms: performance.now() - t0, bytes, ...(keepText ? { text: Buffer.concat(chunks).toString('utf8') } : {}) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const anthropicBody = (model: string) => JSON.stringify({ model, max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'hello' }] });
const responsesBody = (model: string) => JSON.stringify({ model, stream: true, input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello' }] }] });

interface Api {
  label: string;
  body: (model: string) => string;
  direct: Path;
  proxied: Path;
  /** The reply's text is in the stream (checked once per path). */
  marker: string;
}

async function apis(model: ModelServer, proxy: ModelProxy): Promise<Api[]> {
  const anthropic = proxy.endpoint('bench-anthropic', 'anthropic');
  const openai = proxy.endpoint('bench-openai', 'openai');
  proxy.begin({ agentId: 'bench-anthropic', runId: null, conversationId: null, upstream: { family: 'anthropic', baseUrl: model.url, key: 'sk-ant-bench', auth: 'x-api-key' } });
  proxy.begin({ agentId: 'bench-openai', runId: null, conversationId: null, upstream: { family: 'openai', baseUrl: `${model.url}/v1`, key: 'sk-bench', auth: 'bearer' } });
  return [
    {
      label: 'Anthropic Messages, streamed',
      body: anthropicBody,
      direct: { label: 'direct', url: `${model.url}/v1/messages`, headers: { 'x-api-key': 'sk-ant-bench', 'anthropic-version': '2023-06-01' } },
      proxied: { label: 'proxy', url: `${anthropic.baseUrl}/v1/messages`, headers: { 'x-api-key': anthropic.apiKey, 'anthropic-version': '2023-06-01' } },
      marker: 'message_stop',
    },
    {
      label: 'OpenAI Responses, streamed',
      body: responsesBody,
      direct: { label: 'direct', url: `${model.url}/v1/responses`, headers: { authorization: 'Bearer sk-bench' } },
      proxied: { label: 'proxy', url: `${openai.baseUrl}/responses`, headers: { authorization: `Bearer ${openai.apiKey}` } },
      marker: 'response.completed',
    },
  ];
}

/**
 * A large Anthropic Messages stream as the API sends a long reply: many small `text_delta` events
 * (https://docs.anthropic.com/en/api/messages-streaming), `DELTA_CHARS` of text each, written 100
 * events at a time. The stand-in sends a reply's text as one delta: a multi-MB single line, which
 * no provider sends; this is the shape a real long reply has.
 */
const DELTA_CHARS = 100;
async function startChunkedUpstream(text: string): Promise<{ url: string; close: () => Promise<void> }> {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const usage = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
      res.write(
        event('message_start', {
          type: 'message_start',
          message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'bench', content: [], stop_reason: null, stop_sequence: null, usage },
        }) + event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      );
      let batch = '';
      for (let i = 0, n = 0; i < text.length; i += DELTA_CHARS, n++) {
        batch += event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(i, i + DELTA_CHARS) } });
        if (n % 100 === 99) {
          res.write(batch);
          batch = '';
        }
      }
      res.end(
        batch +
          event('content_block_stop', { type: 'content_block_stop', index: 0 }) +
          event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500 } }) +
          event('message_stop', { type: 'message_stop' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => percentile(sorted(xs), 50);

async function benchProxy(opts: SandboxBenchOptions): Promise<string> {
  const largeReply = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil((opts.largeMb * 1024 * 1024) / 57)).slice(0, opts.largeMb * 1024 * 1024);
  const model = await startModelServer({
    respond: (request) => ({ reply: request.model === LARGE_MODEL ? largeReply : SMALL_REPLY, usage: { inputTokens: 10, outputTokens: 500 } }),
  });
  const chunked = await startChunkedUpstream(largeReply);
  const dir = mkdtempSync(join(homedir(), '.cache', 'tinyagi-b19-'));
  let calls = 0;
  const proxy = await ModelProxy.start({ dir: join(dir, 'run', 'sandbox'), onCall: () => void calls++ });
  try {
    const list = await apis(model, proxy);
    // Correctness and warm-up: each path answers the reply (unmeasured).
    for (const api of list) {
      for (const path of [api.direct, api.proxied]) {
        const got = await post(path.url, path.headers, api.body('bench-small'), true);
        if (!got.text!.includes(SMALL_REPLY.slice(0, 200)) || !got.text!.includes(api.marker)) throw new Error(`B19: ${api.label} ${path.label}: the reply is not in the stream`);
        for (let i = 0; i < 20; i++) await post(path.url, path.headers, api.body('bench-small'), false);
      }
    }
    const small: Array<{ api: Api; direct: number[]; proxied: number[]; bytes: number }> = [];
    for (const api of list) {
      const row = { api, direct: [] as number[], proxied: [] as number[], bytes: 0 };
      for (let i = 0; i < opts.requests; i++) {
        const order = i % 2 === 0 ? (['direct', 'proxied'] as const) : (['proxied', 'direct'] as const);
        for (const which of order) {
          const got = await post(api[which].url, api[which].headers, api.body('bench-small'), false);
          row[which].push(got.ms);
          row.bytes = got.bytes;
        }
      }
      small.push(row);
    }
    // The large stream: CPU of this process (client + stand-in [+ proxy]) around each.
    const chunkedProxied = proxy.endpoint('bench-chunked', 'anthropic');
    proxy.begin({ agentId: 'bench-chunked', runId: null, conversationId: null, upstream: { family: 'anthropic', baseUrl: chunked.url, key: 'sk-ant-bench', auth: 'x-api-key' } });
    const chunkedApi: Api = {
      label: `Anthropic Messages, streamed as ${DELTA_CHARS}-character deltas (the bench's own upstream)`,
      body: anthropicBody,
      direct: { label: 'direct', url: `${chunked.url}/v1/messages`, headers: list[0]!.direct.headers },
      proxied: { label: 'proxy', url: `${chunkedProxied.baseUrl}/v1/messages`, headers: { ...list[0]!.proxied.headers, 'x-api-key': chunkedProxied.apiKey } },
      marker: 'message_stop',
    };
    const large: Array<{ api: Api; direct: { ms: number[]; cpu: number[] }; proxied: { ms: number[]; cpu: number[] }; bytes: number }> = [];
    for (const api of [...list, chunkedApi]) {
      const row = { api, direct: { ms: [] as number[], cpu: [] as number[] }, proxied: { ms: [] as number[], cpu: [] as number[] }, bytes: 0 };
      for (const which of ['direct', 'proxied'] as const) await post(api[which].url, api[which].headers, api.body(LARGE_MODEL), false);
      for (let i = 0; i < opts.largeRuns; i++) {
        const order = i % 2 === 0 ? (['direct', 'proxied'] as const) : (['proxied', 'direct'] as const);
        for (const which of order) {
          const before = process.cpuUsage();
          const got = await post(api[which].url, api[which].headers, api.body(LARGE_MODEL), false);
          const cpu = process.cpuUsage(before);
          row[which].ms.push(got.ms);
          row[which].cpu.push((cpu.user + cpu.system) / 1000);
          if (got.bytes < opts.largeMb * 1024 * 1024) throw new Error(`B19: ${api.label} ${which}: the large stream was ${got.bytes} bytes`);
          row.bytes = got.bytes;
        }
      }
      large.push(row);
    }
    const expectedCalls = list.length * (1 + 20 + opts.requests) + (list.length + 1) * (1 + opts.largeRuns);
    if (calls !== expectedCalls) throw new Error(`B19: the proxy metered ${calls} calls, ${expectedCalls} went through it`);

    const lines = [
      `### Model requests through the proxy (${opts.requests} of each API on each path, alternating; ms from the request's start to its last byte, a connection each)`,
      '',
      '| request | bytes streamed | direct p50 | direct p99 | through the proxy p50 | through the proxy p99 | added p50 | added p99 |',
      '|---|---|---|---|---|---|---|---|',
      ...small.map((r) => {
        const d = sorted(r.direct);
        const p = sorted(r.proxied);
        return `| ${r.api.label}, ~2 KB reply | ${r.bytes} | ${ms(percentile(d, 50))} | ${ms(percentile(d, 99))} | ${ms(percentile(p, 50))} | ${ms(percentile(p, 99))} | ${ms(percentile(p, 50) - percentile(d, 50))} | ${ms(percentile(p, 99) - percentile(d, 99))} |`;
      }),
      '',
      `### One large streamed reply (${opts.largeMb} MB of text, ${opts.largeRuns} runs of each path, medians; CPU of the one process holding client, stand-in and proxy)`,
      '',
      '| request | MB streamed | direct: wall (ms) | direct: CPU (ms) | through the proxy: wall (ms) | through the proxy: CPU (ms) | proxy CPU per MB streamed (ms) |',
      '|---|---|---|---|---|---|---|',
      ...large.map((r) => {
        const mb = r.bytes / (1024 * 1024);
        const added = median(r.proxied.cpu) - median(r.direct.cpu);
        return `| ${r.api.label}${r.api === chunkedApi ? '' : ', the text in one delta (the stand-in)'} | ${mb.toFixed(2)} | ${median(r.direct.ms).toFixed(0)} | ${median(r.direct.cpu).toFixed(0)} | ${median(r.proxied.ms).toFixed(0)} | ${median(r.proxied.cpu).toFixed(0)} | ${(added / mb).toFixed(1)} |`;
      }),
    ];
    return lines.join('\n');
  } finally {
    await proxy.stop();
    await model.close();
    await chunked.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spawns and resolves with ms from `t0` until the exit; the exit code must be 0 and stdout must hold `expect`. */
function runToExit(t0: number, command: string, args: string[], options: { cwd: string; env: Record<string, string>; control: boolean }, expect: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: options.control ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (options.control) (child.stdio[3] as NodeJS.WritableStream & { on(e: 'error', l: () => void): void }).on('error', () => {});
    child.once('error', reject);
    child.once('close', (code) => {
      const elapsed = performance.now() - t0;
      if (code !== 0 || !out.includes(expect))
        reject(new Error(`B19: ${command} ${args.slice(-3).join(' ')} exited ${code}, stdout ${JSON.stringify(out.slice(0, 200))}, stderr ${err.slice(0, 500)}`));
      else resolve(elapsed);
    });
  });
}

async function benchBoundary(opts: SandboxBenchOptions): Promise<string> {
  // Under ~/.cache, as the boundary's tests: inside, /tmp is a private tmpfs; socket paths stay short.
  mkdirSync(join(homedir(), '.cache'), { recursive: true });
  const root = mkdtempSync(join(homedir(), '.cache', 'tinyagi-b19-'));
  const tinyHome = join(root, 'home', '.tinyagi');
  const workspaceRoot = join(root, 'home', 'tinyagi-workspace');
  const workspace = join(workspaceRoot, 'bench');
  mkdirSync(tinyHome, { recursive: true });
  mkdirSync(workspace, { recursive: true });
  const script = join(workspace, 'print.mjs');
  writeFileSync(script, "console.log('ready');\n");
  const daemonEnv = { PATH: process.env.PATH ?? '', HOME: join(root, 'home') };
  const check = quickCheck(daemonEnv);
  if (!check.ok) throw new Error(`B19: the boundary is not available here: ${check.problem?.reason}`);
  // The node's sandbox host, as a daemon makes one: its check recorded, closed after (bridges, holder, cgroup).
  const host = new SandboxHost({ runtimeHomes: () => [] });
  host.recordCheck(check);
  try {
    const decision = host.boundaryFor('bench', { mode: 'required', tinyHome, workspaceRoot, memoryMb: 4096 }, workspace, daemonEnv);
    const boundary = decision!.boundary as Boundary;
    const cliEnv: Record<string, string> = { PATH: daemonEnv.PATH, HOME: daemonEnv.HOME, LANG: 'C.UTF-8' };
    const commands = [
      { label: '`true`', command: 'true', args: [] as string[], expect: '' },
      { label: 'node running a script that prints a line', command: process.execPath, args: [script], expect: 'ready' },
    ];
    const direct = (c: (typeof commands)[number]) => runToExit(performance.now(), c.command, c.args, { cwd: workspace, env: cliEnv, control: false }, c.expect);
    const wrapMs: number[] = [];
    const inside = async (c: (typeof commands)[number]) => {
      const t0 = performance.now();
      const wrapped = await boundary.wrap({ command: c.command, args: c.args, env: boundary.env(cliEnv) });
      wrapMs.push(performance.now() - t0);
      try {
        return await runToExit(t0, wrapped.command, wrapped.args, { cwd: workspace, env: wrapped.env, control: true }, c.expect);
      } finally {
        wrapped.release();
      }
    };
    const rows: Array<{ label: string; direct: number[]; inside: number[] }> = [];
    for (const c of commands) {
      // Unmeasured first: files in the page cache, the boundary's directories made.
      for (let i = 0; i < 3; i++) {
        await direct(c);
        await inside(c);
      }
      wrapMs.length = 0;
      const row = { label: c.label, direct: [] as number[], inside: [] as number[] };
      for (let i = 0; i < opts.starts; i++) {
        if (i % 2 === 0) {
          row.direct.push(await direct(c));
          row.inside.push(await inside(c));
        } else {
          row.inside.push(await inside(c));
          row.direct.push(await direct(c));
        }
      }
      rows.push(row);
    }
    const cgroup = memoryCgroupBase();
    const w = sorted(wrapMs);
    return [
      `### Starting a command inside the boundary (${opts.starts} starts of each on each path, alternating; ms from the spawn, or from before wrap(), until the process has exited)`,
      '',
      '| command | direct p50 | direct p99 | inside the boundary p50 | inside p99 | added p50 | added p99 |',
      '|---|---|---|---|---|---|---|',
      ...rows.map((r) => {
        const d = sorted(r.direct);
        const b = sorted(r.inside);
        return `| ${r.label} | ${ms(percentile(d, 50))} | ${ms(percentile(d, 99))} | ${ms(percentile(b, 50))} | ${ms(percentile(b, 99))} | ${ms(percentile(b, 50) - percentile(d, 50))} | ${ms(percentile(b, 99) - percentile(d, 99))} |`;
      }),
      '',
      `Of it, \`Boundary.wrap()\` itself (in the daemon's process, before the spawn; the last command's starts): p50 ${ms(percentile(w, 50))} ms, p99 ${ms(percentile(w, 99))} ms. ` +
        `bwrap ${check.bwrap}; memory cgroup: ${cgroup.ok ? `joined (cgroup v${cgroup.version})` : `none (${cgroup.reason})`}.`,
    ].join('\n');
  } finally {
    await host.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function benchB19(opts: SandboxBenchOptions): Promise<string> {
  const proxy = await benchProxy(opts);
  const boundary = await benchBoundary(opts);
  return `${proxy}\n\n${boundary}`;
}
