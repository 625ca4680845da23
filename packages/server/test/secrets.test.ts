/**
 * Secrets never leave the server: every GET route (with real ids), the event stream and error
 * bodies are scanned for the planted keys and tokens. (The harness also scans every response
 * of every test file; this file adds the stream and the error paths.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseParser } from '@tinyagi/client';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { gitRepos, waitFor } from '@tinyagi/test-kit';
import { DATABASE_URL, SECRETS, raw, secretLeaks, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
const NEW_SECRET = 'sk-NEW-PLANTED-discord-token-1234567890';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function leaksIn(text: string): string[] {
  return [...Object.values(SECRETS), NEW_SECRET].filter((s) => text.includes(s));
}

describe('secrets', () => {
  it('no GET route returns a planted secret', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'hello', agent: 'coder' } });
    const run = await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).run ?? undefined, 10_000, 'run');
    const task = await h.client.createTask({ body: { title: 'x' } });
    const project = await h.client.createProject({ body: { name: 'Secret Project' } });
    // A project bound to a repository, and a task of it started (its worktree and branch made): the git-task routes answer for them.
    const fx = gitRepos();
    const bound = await h.client.createProject({ body: { name: 'Repo Project', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const started = await h.client.createTask({ body: { title: 'y', projectId: bound.id, assigneeAgent: 'coder', status: 'in_progress' } });
    expect(started.git?.state, JSON.stringify(started.git)).toBe('ready');
    const schedule = await h.client.createSchedule({ body: { agent: 'coder', message: 'x', cron: '0 9 * * *' } });
    const approval = await h.stores.approvals.create({
      id: 'apr_secrets',
      kind: 'permission',
      agentId: 'coder',
      runId: run.id,
      conversationId: sent.conversationId,
      sessionKey: 'shared',
      tool: 'Bash',
      input: { command: 'ls' },
      summary: 'Bash: ls',
      requestedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    const memory = await h.client.createMemory({ body: { scope: { kind: 'agent', id: 'coder' }, kind: 'fact', text: 'The build runs on Node 24.' } });
    mkdirSync(join(h.home, 'workflows'), { recursive: true });
    writeFileSync(join(h.home, 'workflows', 'hello.mjs'), "export default async (wf) => wf.agent('coder', 'hello');");
    const { run: workflowRun } = await h.client.startWorkflow({ body: { file: join(h.home, 'workflows', 'hello.mjs') } });
    const ids: Record<string, Record<string, string>> = {
      getMessage: { id: sent.messageId },
      getConversation: { id: sent.conversationId },
      getTranscript: { id: sent.conversationId },
      getTranscriptMarkdown: { id: sent.conversationId },
      getRun: { id: run.id },
      getRunSteering: { id: run.id },
      getRunTask: { id: run.id },
      getTask: { id: task.id },
      listComments: { id: task.id },
      getProject: { id: project.id },
      listProjectWorktrees: { id: bound.id },
      getProjectRetention: { id: bound.id },
      getTaskDiff: { id: started.id },
      getSchedule: { id: schedule.id },
      scheduleNextRuns: { id: schedule.id },
      scheduleHistory: { id: schedule.id },
      getCustomProvider: { id: 'acme' },
      getTeam: { id: 'dev' },
      getChatroom: { id: 'dev' },
      channelLogin: { name: 'whatsapp' },
      getApproval: { id: approval.id },
      getMemoryRecord: { id: memory.id },
      getRunMemoryInjection: { id: run.id },
      getWorkflowRun: { id: workflowRun.id },
    };
    // GET routes whose query has required parameters.
    const queries: Record<string, string> = {
      chatStatus: '?channel=telegram&threadKey=chat-1',
      previewCron: '?cron=0%209%20*%20*%201-5&timezone=Asia%2FTokyo',
      exportMemory: '?agent=coder',
    };
    // Only a running run's own token may search memory (an agent's `recall`; a finished run's is RUN_ENDED): contract.test.ts calls it with one.
    const runningOnly = new Set(['recallForRun']);
    const gets = (Object.entries(apiContract) as Array<[string, RouteDef]>).filter(([, d]) => d.method === 'GET');
    const scanned: string[] = [];
    for (const [name, def] of gets) {
      if (runningOnly.has(name)) continue;
      const params = ids[name] ?? { id: 'coder' };
      const path = def.path.replace(/:([A-Za-z]+)/g, (_m, p: string) => encodeURIComponent(params[p] ?? 'coder'));
      const res = await raw(h, 'GET', `${path}${queries[name] ?? ''}`);
      expect({ name, status: res.status < 400 || res.status === 503, code: res.status < 400 ? undefined : res.text.slice(0, 200) }).toEqual({ name, status: true, code: undefined });
      expect({ name, leaks: leaksIn(res.text) }).toEqual({ name, leaks: [] });
      scanned.push(name);
    }
    expect(scanned.length).toBe(gets.length - runningOnly.size);
    // Masked, not dropped: the client can see a key is set.
    const settings = (await raw(h, 'GET', '/api/settings')).body as { models: { anthropic: { api_key: string } } };
    expect(settings.models.anthropic.api_key).toMatch(/^sk-…[a-z0-9]{4}$/);
  });

  it('writes answer masked, and refused writes do not echo the secret', async () => {
    const ok = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ channels: { discord: { bot_token: NEW_SECRET } } }) });
    expect(ok.status).toBe(200);
    expect(leaksIn(ok.text)).toEqual([]);
    expect((h.settings().channels?.['discord'] as { bot_token?: string } | undefined)?.bot_token).toBe(NEW_SECRET);
    const refused = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ channels: { discord: { bot_token: NEW_SECRET } }, server: { port: 'x' } }) });
    expect(refused.status).toBe(400);
    expect(leaksIn(refused.text)).toEqual([]);
    const provider = await raw(h, 'PUT', '/api/custom-providers/other', { body: JSON.stringify({ runtime: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key: NEW_SECRET }) });
    expect(provider.status).toBe(200);
    expect(leaksIn(provider.text)).toEqual([]);
  });

  it('storage.url is shown with its password masked, survives a masked round trip, and a URL edited around the mask is refused', async () => {
    const shown = (await raw(h, 'GET', '/api/settings')).body as { storage: { url: string } };
    expect(shown.storage.url).toBe('postgres://tiny:…@db.example:5432/tinyagi?sslmode=require');
    // A client that PATCHes back what it was shown keeps the stored password.
    const echoed = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ storage: shown.storage, retention: { days: 9 } }) });
    expect(echoed.status).toBe(200);
    expect(h.settings().storage?.url).toBe(DATABASE_URL);
    expect(h.settings().retention?.days).toBe(9);
    // The masked password would be written into another URL: refused, the file keeps the stored one.
    const moved = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ storage: { url: 'postgres://tiny:…@other.example:5432/tinyagi' } }) });
    expect(moved.status).toBe(400);
    expect(moved.text).toContain('storage.url');
    expect(h.settings().storage?.url).toBe(DATABASE_URL);
    // Not a PostgreSQL URL: refused, naming the key.
    const bad = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ storage: { url: 'mysql://tiny@db/x' } }) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('storage.url');
    expect(leaksIn(moved.text + bad.text + echoed.text)).toEqual([]);
  });

  it('the event stream carries no secret', async () => {
    const controller = new AbortController();
    const res = await fetch(`${h.url}/api/events?lastEventId=0`, { headers: { authorization: `Bearer ${h.token}` }, signal: controller.signal });
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let text = '';
    let count = 0;
    const target = await h.stores.events.lastId();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const piece = decoder.decode(chunk, { stream: true });
        text += piece;
        for (const m of parser.push(piece)) {
          count++;
          if (Number(m.id) >= target) controller.abort();
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
    expect(count).toBeGreaterThan(5);
    expect(leaksIn(text)).toEqual([]);
  });

  it('no response in this file contained a secret', () => {
    expect(secretLeaks).toEqual([]);
  });
});
