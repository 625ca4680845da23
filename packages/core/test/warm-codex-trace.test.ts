/**
 * A warm Codex turn continues its own run's trace (docs/telemetry.md, "The CLIs' own telemetry"):
 * the warm process's environment never holds TRACEPARENT, so each request of a run carries the
 * run's W3C trace context in its `trace` member, which codex 0.169's app-server makes the parent
 * of its spans (packages/real-cli-test's cli-telemetry test checks that with the real one). Here,
 * against test-kit's fake app-server (which logs the `trace` of each turn and steer): the trace
 * of each run on one warm process, none without one, and the CLI-telemetry variables that name
 * the run not restarting the process for each message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fakeCli, waitFor } from '@tinyagi/test-kit';
import { fakeLogEntries } from './fixtures/fake-cli-log.ts';
import { codexWarmDriver } from '../src/invoker/runtimes/codex-warm.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { InvokeProgress, InvokeRequest, InvokeResult } from '../src/invoker/types.ts';

interface LogEntry {
  pid: number;
  mode?: string;
  event?: string;
  prompt?: string;
  steer?: string;
  trace?: { traceparent?: string | null; tracestate?: string | null } | null;
}

let root: string;
let workspace: string;
let logFile: string;
let events: InvokeProgress[];
let pool: SessionPool;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-warm-codex-trace-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  logFile = join(root, 'fake.log');
  events = [];
  pool = new SessionPool({ memoryShare: 1 });
});
afterEach(async () => {
  await pool.closeAll();
  rmSync(root, { recursive: true, force: true });
});

const log = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile).filter((e) => e.mode === 'app-server');
const turnsLogged = (): LogEntry[] => log().filter((e) => e.prompt !== undefined);
const starts = (): number[] => log().flatMap((e) => (e.event === 'start' ? [e.pid] : []));

const traceparentOf = (run: number) => `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-${String(run).padStart(16, '0')}-01`;

/** A run's request as the daemon gives it with trace export and `cli_telemetry` on: TRACEPARENT and the variables that name the run. */
function request(run: number, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { runtime: 'codex', provider: 'test', command: fakeCli('codex'), warm: true, killGraceMs: 2_000 },
    prompt,
    systemPrompt: 'You are the coder.',
    cwd: workspace,
    env: {
      FAKE_LOG: logFile,
      FAKE_STATE_DIR: root,
      TINYAGI_RUN_ID: `run_${run}`,
      TINYAGI_CONVERSATION_ID: 'conv_1',
      TRACEPARENT: traceparentOf(run),
      TRACESTATE: `tinyagi=run${run}`,
      TINYAGI_CLI_TELEMETRY: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_RESOURCE_ATTRIBUTES: `gen_ai.conversation.id=conv_1,gen_ai.agent.id=coder,tinyagi.run.id=run_${run}`,
    },
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

const next = (result: InvokeResult) => ({ key: 'shared', resumeId: result.sessionId, instructionsHash: result.instructionsHash, runtimeState: result.runtimeState });

it('each turn on one warm process carries its own run’s trace context (turn/start), and the run-naming telemetry variables do not restart the process', async () => {
  const first = await invokeWarm(codexWarmDriver, request(1, 'first', { session: { key: 'shared' } }), pool);
  const second = await invokeWarm(codexWarmDriver, request(2, 'second', { session: next(first) }), pool);
  expect(second.text).toBe('fake-codex turn 2: second');
  expect(starts()).toHaveLength(1);
  expect(turnsLogged().map((t) => t.trace)).toEqual([
    { traceparent: traceparentOf(1), tracestate: 'tinyagi=run1' },
    { traceparent: traceparentOf(2), tracestate: 'tinyagi=run2' },
  ]);
});

it('input steered into a running turn carries that run’s trace context (turn/steer)', async () => {
  let wake = (): void => {};
  let pending: string | undefined = 'also this';
  const result = invokeWarm(
    codexWarmDriver,
    request(3, 'FAKE:wait-steer work on it', {
      onSteer: (w) => {
        wake = w;
        return () => {};
      },
      takeInput: () => {
        const text = pending;
        pending = undefined;
        return text;
      },
    }),
    pool,
  );
  await waitFor(() => events.some((e) => e.type === 'tool' && e.id === 'call_wait'), 20_000, 'the long tool call');
  wake();
  expect((await result).text).toBe('steered: also this');
  expect(log().filter((e) => e.steer !== undefined)).toMatchObject([{ steer: 'also this', trace: { traceparent: traceparentOf(3), tracestate: 'tinyagi=run3' } }]);
});

it('a run without trace context sends no `trace`', async () => {
  const req = request(4, 'untraced');
  const { TRACEPARENT: _p, TRACESTATE: _s, ...env } = req.env ?? {};
  await invokeWarm(codexWarmDriver, { ...req, env }, pool);
  expect(turnsLogged().map((t) => t.trace)).toEqual([null]);
});
