/**
 * Feeds the stores from a daemon, through @tinyagi/client only: a REST snapshot at start (and
 * after every reconnect, to cover what happened while the stream was down), the event stream
 * (resumed by the client after a drop, each event once), and a slow poll of the queue counts
 * (the source of truth for depth; events only move them in between). A `settings.changed` event
 * reads the agents and teams again (an agent's sandbox status among them).
 */
import { isApiError, type ApiClient, type ChatroomMessage } from '@tinyagi/client';
import type { ChatAction, ChatState } from './chat-state.ts';
import type { DashboardActions } from './dashboard.ts';
import { approvalOutcome, LIMITS, selectedConversation, selectedRun, type Action, type DashboardState } from './state.ts';
import type { Store } from './store.ts';
import { selectedWorkflowRun, WORKFLOW_LIMITS } from './workflow-runs.ts';

export interface Source {
  close(): void;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * How the dashboard and the chat room retry a dropped event stream: capped at 3 s with equal
 * jitter (1.5–3 s at the cap), near TinyOffice's (lib/live.ts), not the client's 30 s default.
 */
export const RECONNECT = { initialDelayMs: 300, maxDelayMs: 3000 } as const;

/**
 * Reads one run at a time per run: a read asked for while one is in flight is made once after it,
 * so the last answer follows the last event that asked (however many asked meanwhile).
 */
function serialReader(read: (id: string) => Promise<void>, onError: (err: unknown) => void): (id: string) => void {
  /** The runs being read, and whether another read was asked for meanwhile. */
  const busy = new Map<string, boolean>();
  const go = (id: string): void => {
    if (busy.has(id)) {
      busy.set(id, true);
      return;
    }
    busy.set(id, false);
    read(id)
      .catch(onError)
      .finally(() => {
        const again = busy.get(id);
        busy.delete(id);
        if (again) go(id);
      });
  };
  return go;
}

/**
 * The dashboard's reads of workflow runs: the newest and every running one (the header counts
 * those; a daemon older than workflows answers 404: none shown), and one run with its steps, on
 * each change of a run and each step of the run the panel shows.
 */
function workflowReaders(
  client: ApiClient,
  store: Store<DashboardState, Action>,
  signal: AbortSignal,
  onError: (err: unknown) => void,
): { workflowRuns(): Promise<void>; readWorkflowRun(id: string): void } {
  const workflowRuns = async (): Promise<void> => {
    const lists = await Promise.all([
      client.listWorkflowRuns({ query: { status: 'running', limit: WORKFLOW_LIMITS.runs }, signal }),
      client.listWorkflowRuns({ query: { limit: WORKFLOW_LIMITS.runs }, signal }),
    ]).catch(() => undefined);
    if (lists) store.dispatch({ type: 'workflow-runs', runs: lists.flatMap((l) => l.runs) });
  };
  const readWorkflowRun = serialReader(async (id) => {
    const detail = await client.getWorkflowRun({ params: { id }, signal }).catch((err: unknown) => {
      if (isApiError(err, 'WORKFLOW_NOT_FOUND')) return undefined;
      throw err;
    });
    if (detail) store.dispatch({ type: 'workflow-run', detail });
  }, onError);
  return { workflowRuns, readWorkflowRun };
}

export function startDashboardSource(client: ApiClient, store: Store<DashboardState, Action>, options: { pollMs?: number } = {}): Source & { actions: DashboardActions } {
  const abort = new AbortController();
  const signal = abort.signal;
  const fail = (what: string) => (err: unknown) => {
    if (!signal.aborted) store.dispatch({ type: 'notice', text: `${what}: ${message(err)}`, level: 'error' });
  };

  const queue = async (): Promise<void> => {
    const q = await client.queueStatus({ signal });
    store.dispatch({ type: 'snapshot', queue: { pending: q.pending, processing: q.processing, dead: q.dead } });
  };
  // The runs in flight, with when each started (the orchestrator part of GET /api/status, typed unknown in the contract).
  const running = async (): Promise<void> => {
    const status = await client.status({ signal });
    const list = (status.orchestrator as { running?: Array<{ runId: string; agentId: string; startedAt: number }> } | null)?.running;
    if (list) store.dispatch({ type: 'snapshot', running: list.map(({ runId, agentId, startedAt }) => ({ runId, agentId, startedAt })) });
  };
  const conversations = async (team: string | null): Promise<void> => {
    const list = await client.listConversations({ query: { limit: 20, ...(team ? { team } : {}) }, signal });
    store.dispatch({ type: 'snapshot', conversations: list });
  };
  // What waits for a person's answer (a daemon older than GET /api/approvals answers 404: none shown).
  const approvals = async (): Promise<void> => {
    const since = Date.now();
    const list = await client.listApprovals({ query: { status: 'pending' }, signal }).catch(() => undefined);
    if (list) store.dispatch({ type: 'approvals', approvals: list, since });
  };
  const { workflowRuns, readWorkflowRun } = workflowReaders(client, store, signal, fail('Could not read the workflow run'));
  const refresh = async (): Promise<void> => {
    const [agents, teams, channels, handoffs] = await Promise.all([
      client.listAgents({ signal }),
      client.listTeams({ signal }),
      client.listChannels({ signal }),
      client.listHandoffs({ query: { limit: LIMITS.handoffs }, signal }),
    ]);
    store.dispatch({ type: 'snapshot', agents, teams, channels });
    // Held accounts (a daemon older than GET /api/quotas answers 404: none shown).
    const quotas = await client.listQuotas({ signal }).catch(() => undefined);
    if (quotas) store.dispatch({ type: 'snapshot', quotas: quotas.holds });
    // Handoffs and Activity start with what happened before (and while the stream was down).
    store.dispatch({ type: 'history', handoffs });
    await Promise.all([queue(), running(), conversations(store.getState().team), approvals(), workflowRuns()]);
    treeOf = undefined; // fetch the selected tree again
    stepsOf = undefined; // and the selected workflow run's steps
    watchSelection();
  };

  // The selected conversation's run tree and the team's conversations, fetched when they change.
  let treeOf: string | undefined;
  let teamOf: string | null | undefined;
  let steeringOf: string | undefined;
  let stepsOf: string | undefined;
  const watchSelection = (): void => {
    const state = store.getState();
    // The steps of the workflow run the panel shows (read again on its events).
    const flow = state.workflows.panel.open ? selectedWorkflowRun(state.workflows)?.id : undefined;
    if (flow !== stepsOf) {
      stepsOf = flow;
      if (flow) readWorkflowRun(flow);
    }
    // What steering does for the selected live run's provider, shown before a key is pressed.
    const run = selectedRun(state);
    const live = run && (run.status === 'running' || run.status === 'paused' || run.status === 'queued') ? run.runId : undefined;
    if (live && live !== steeringOf) {
      steeringOf = live;
      client.getRunSteering({ params: { id: live }, signal }).then((steering) => store.dispatch({ type: 'steering', steering }), fail('Could not read what steering can do'));
    }
    if (state.team !== teamOf) {
      teamOf = state.team;
      conversations(state.team).catch(fail('Could not list conversations'));
    }
    const conv = selectedConversation(state);
    // A conversation watched from its start is complete from the events alone (and under a
    // firehose the newest one changes every frame): only older ones need their tree fetched.
    if (conv && conv.id !== treeOf && !conv.watchedFromStart) {
      treeOf = conv.id;
      client.getConversation({ params: { id: conv.id }, signal }).then((tree) => store.dispatch({ type: 'tree', tree }), fail('Could not load the run tree'));
    }
  };
  const unwatch = store.subscribe(watchSelection);

  const events = client.subscribe({ signal, reconnect: RECONNECT });
  // Settings changed (an agent added, its sandbox or provider, a team's members): read them again,
  // so each agent's sandbox status (GET /api/agents) stays what the daemon says.
  const settings = async (): Promise<void> => {
    const [agents, teams] = await Promise.all([client.listAgents({ signal }), client.listTeams({ signal })]);
    store.dispatch({ type: 'snapshot', agents, teams });
  };
  events.onEvent((event) => {
    store.dispatch({ type: 'event', event });
    if (event.type === 'settings.changed') settings().catch(fail('Could not reload the agents'));
    if (event.type === 'workflow.changed') readWorkflowRun(event.data.runId);
    if (event.type === 'workflow.step') {
      // Its new steps' agents, prompts and outputs are in the read; a run only a step named is described by it.
      const { workflows } = store.getState();
      const shown = workflows.panel.open && selectedWorkflowRun(workflows)?.id === event.data.runId;
      if (shown || !workflows.runs.find((r) => r.id === event.data.runId)?.described) readWorkflowRun(event.data.runId);
    }
  });
  let dropped = false;
  events.onStateChange((state, info) => {
    store.dispatch({ type: 'connection', state, info, at: Date.now() });
    if (state === 'reconnecting') dropped = true;
    if (state === 'open' && dropped) {
      dropped = false;
      refresh().catch(fail('Could not refresh'));
    }
  });
  events.closed.catch(fail('Event stream closed'));
  refresh().catch(fail('Could not load the dashboard'));
  const poll = setInterval(() => queue().catch(() => undefined), options.pollMs ?? 2000);
  poll.unref?.();

  return {
    actions: {
      async cancelRun(runId) {
        const result = await client.cancelRun({ params: { id: runId }, signal });
        return `Run ${runId}: ${result.status}.`;
      },
      async steerRun(runId, command) {
        const result = await client.steerRun({ params: { id: runId }, body: { command }, signal });
        return `Run ${runId}: ${command} ${result.accepted ? 'accepted' : `refused${result.reason ? ` (${result.reason})` : ''}`}.`;
      },
      async decideApproval(id, body) {
        try {
          const decided = await client.decideApproval({ params: { id }, body: { ...body, by: 'tui' }, signal });
          store.dispatch({ type: 'approval-settled', approval: decided });
          return `${decided.id} ${approvalOutcome(decided)} (@${decided.agentId} ${decided.summary})`;
        } catch (err) {
          // Answered elsewhere first: the list is read again (the 409 says who was first).
          if (isApiError(err, 'APPROVAL_DECIDED')) await approvals().catch(() => undefined);
          throw err;
        }
      },
    },
    close() {
      clearInterval(poll);
      unwatch();
      abort.abort();
    },
  };
}

/** Pages through the room after the cursor until a short page: every message once, none skipped. */
async function catchUp(client: ApiClient, store: Store<ChatState, ChatAction>, team: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    const cursor = store.getState().cursor;
    const page = await client.getChatroom({ params: { id: team }, query: { after: cursor, limit: 500 }, signal });
    store.dispatch({ type: 'page', messages: page.messages, nextCursor: page.nextCursor });
    if (page.messages.length < 500) return;
  }
}

export function startChatSource(client: ApiClient, store: Store<ChatState, ChatAction>, options: { history?: number } = {}): Source & { post(text: string): Promise<void> } {
  const team = store.getState().team;
  const abort = new AbortController();
  const signal = abort.signal;
  const fail = (what: string) => (err: unknown) => {
    if (!signal.aborted) store.dispatch({ type: 'notice', text: `${what}: ${message(err)}`, level: 'error' });
  };
  const events = client.subscribe({ types: ['chatroom.message'], signal, reconnect: RECONNECT });
  events.onEvent((event) => {
    const d = event.data;
    const arrived: ChatroomMessage = { id: d.postId, teamId: d.teamId, fromAgent: d.from, conversationId: event.conversationId, content: d.text, createdAt: event.ts };
    store.dispatch({ type: 'arrived', message: arrived });
  });
  let dropped = false;
  events.onStateChange((state, info) => {
    store.dispatch({ type: 'connection', state, info });
    if (state === 'reconnecting') dropped = true;
    if (state === 'open' && dropped) {
      dropped = false;
      catchUp(client, store, team, signal).catch(fail('Could not catch up'));
    }
  });
  events.closed.catch(fail('Event stream closed'));
  client
    .getChatroom({ params: { id: team }, query: { limit: options.history ?? 200 }, signal })
    .then((page) => store.dispatch({ type: 'page', messages: page.messages, nextCursor: page.nextCursor }))
    // Anything posted between the first page and the stream opening is in the next page.
    .then(() => catchUp(client, store, team, signal))
    .catch(fail('Could not load the chat room'));
  return {
    async post(text) {
      await client.postChatroom({ params: { id: team }, body: { message: text }, signal });
      // The stream brings it too; the page makes sure even if the stream is down.
      await catchUp(client, store, team, signal);
    },
    close: () => abort.abort(),
  };
}
