/**
 * The tab's live state: checks the session, loads the office once over REST, then follows the
 * browser's one event stream (lib/tab-bus.ts: the leader tab holds the EventSource through
 * @tinyagi/client, resumed with the last event id after every drop, and forwards each event to
 * the other tabs) and folds each event into the store. Events are applied once per animation
 * frame so a burst renders once.
 */
import { isApiError, type ConnectionInfo, type ConnectionState, type EventSubscription, type TinyEvent } from '@tinyagi/client';
import { api, messageOf } from './api';
import { withApprovals } from './approvals';
import { activityFromStatus, failuresFromDead, getState, HANDOFFS_KEPT, handoffOf, pausedFromStatus, reduceEvent, setState, withHandoffs } from './store';
import { canShare, joinTabs, type BusMessage, type StreamInfo, type TabBus } from './tab-bus';

/** This tab's stream, while it leads (or has no other tabs to share with). */
let subscription: EventSubscription | undefined;
let info: StreamInfo = { attempt: 0 };
let bus: TabBus | undefined;
let booting = false;
/** The snapshot is loaded: events from now on are folded in (earlier ones wait in `early`). */
let ready = false;
let early: TinyEvent[] = [];
/** The newest event id folded into this tab (the snapshot's, then each event's): where a stream it opens resumes. */
let applied = 0;
let pending: TinyEvent[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  setState((s) => {
    let next = s;
    for (const event of batch) next = { ...next, ...reduceEvent(next, event) };
    return next;
  });
}

/**
 * Next frame; a hidden tab gets no frames, so it folds once a second instead of piling events up
 * (and at once when it is shown again: a long-hidden tab's timers may wait a minute).
 */
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  if (document.hidden) setTimeout(flush, 1000);
  else requestAnimationFrame(flush);
}

function flushWhenShown(): void {
  if (!document.hidden) flush();
}

let reloadingEntities = false;

/** Agents and teams live in settings.json: any change (API, CLI, a hand edit) reloads them. */
function reloadEntities(): void {
  if (reloadingEntities) return;
  reloadingEntities = true;
  Promise.all([api().listAgents(), api().listTeams()])
    .then(([agents, teams]) => setState({ agents, teams }))
    .catch(() => {})
    .finally(() => (reloadingEntities = false));
}

/** Folds an event in once: the leader replays after a failover, and every tab hears it. */
function receive(event: TinyEvent): void {
  if (!ready) {
    early.push(event);
    return;
  }
  if (event.id <= applied) return;
  applied = event.id;
  if (event.type === 'settings.changed') reloadEntities();
  pending.push(event);
  schedule();
}

/**
 * Status, agents and teams: on the first load and after a reconnect (the daemon may have
 * restarted). Each tab loads its own (the leader shares only the stream). Earlier handoffs and
 * the pending approval requests come along without holding the load up: the Handoffs panel
 * starts with them, and one also seen live is listed once.
 *
 * Both are asked for after the status, whose `lastEventId` is where the stream starts: what
 * happened up to it is in their lists, what came after arrives as events. Asked before it, a
 * request made between the list and the status was in neither (a clean-clone run, 2026-11-26: a
 * request never showed on the Approvals page that was loading while the agent asked).
 */
async function loadOffice(): Promise<number> {
  const [status, agents, teams] = await Promise.all([api().status(), api().listAgents(), api().listTeams()]);
  setState({ status, agents, teams, activity: activityFromStatus(status), pausedRuns: pausedFromStatus(status) });
  api()
    .listHandoffs({ query: { limit: HANDOFFS_KEPT } })
    .then((list) => setState((s) => ({ handoffs: withHandoffs(s.handoffs, list.map(handoffOf)) })))
    .catch(() => {});
  loadApprovals();
  loadMemoryProposals();
  return status.lastEventId;
}

/** The memory proposals waiting for a person (the header's count), without holding the load up. */
function loadMemoryProposals(): void {
  api()
    .listMemory({ query: { status: 'proposed', limit: 1000 } })
    .then((list) => setState({ memoryProposals: list.map((p) => p.id) }))
    .catch(() => {});
}

/**
 * The pending approval requests (the header's count), without holding the load up. After a
 * reconnect, a request this tab knew as pending and no longer listed was answered meanwhile:
 * its record is read again so its card says by whom.
 */
function loadApprovals(): void {
  api()
    .listApprovals({ query: { status: 'pending', limit: 1000 } })
    .then(async (pending) => {
      const listed = new Set(pending.map((a) => a.id));
      const gone = Object.values(getState().approvals).filter((a) => a.status === 'pending' && !listed.has(a.id));
      const now = await Promise.all(
        gone.map((a) =>
          api()
            .getApproval({ params: { id: a.id } })
            .catch(() => null),
        ),
      );
      setState((s) => ({ approvals: withApprovals(s.approvals, [...pending, ...now.filter((a) => a !== null)]) }));
    })
    .catch(() => {});
}

function showConnection(connection: ConnectionState, next: StreamInfo): void {
  const wasDown = getState().everOpen && getState().connection === 'reconnecting';
  setState((s) => ({ connection, connectionInfo: next, everOpen: s.everOpen || connection === 'open' }));
  if (connection === 'open' && wasDown) loadOffice().catch(() => {});
  if (connection === 'closed' && next.error?.status === 401) setState({ auth: 'anonymous', authError: next.error.message });
}

function plain(raw: ConnectionInfo): StreamInfo {
  return {
    attempt: raw.attempt,
    ...(raw.retryInMs !== undefined ? { retryInMs: raw.retryInMs } : {}),
    ...(raw.error ? { error: { status: raw.error.status, message: raw.error.message } } : {}),
  };
}

/** Opens the stream in this tab, after the last event it has; returns how to close it. */
function lead(): () => void {
  const sub = api().subscribe({ transport: 'eventsource', lastEventId: applied, reconnect: { initialDelayMs: 300, maxDelayMs: 5000 } });
  subscription = sub;
  sub.onEvent((event) => {
    bus?.post({ kind: 'event', event });
    receive(event);
  });
  sub.onStateChange((connection, raw) => {
    info = plain(raw);
    bus?.post({ kind: 'state', connection, info });
    showConnection(connection, info);
    if (connection === 'closed' && subscription === sub) {
      subscription = undefined;
      // A fatal end (the session expired): another tab may try, and learns the same.
      bus?.resign();
    }
  });
  bus?.post({ kind: 'state', connection: sub.state, info });
  return () => sub.close();
}

function onBus(message: BusMessage): void {
  if (message.kind === 'event') receive(message.event);
  else if (message.kind === 'state') showConnection(message.connection, message.info);
  else if (subscription) bus?.post({ kind: 'state', connection: subscription.state, info });
}

export function startLive(): void {
  if (booting || ready) return;
  booting = true;
  void boot().finally(() => (booting = false));
}

async function boot(): Promise<void> {
  setState({ auth: 'checking', authError: null });
  // Listening before the snapshot: an event after it cannot fall between the two.
  if (canShare()) bus ??= joinTabs(onBus);
  document.addEventListener('visibilitychange', flushWhenShown);
  let from: number;
  try {
    await api().getSession();
    from = await loadOffice();
  } catch (err) {
    const anonymous = isApiError(err) && err.status === 401;
    setState({ auth: anonymous ? 'anonymous' : 'unreachable', authError: messageOf(err) });
    early = [];
    return;
  }
  setState({ auth: 'ok' });
  // Failures not yet seen are still failures after a reload (a live one is newer and wins).
  api()
    .queueDead({ query: { limit: 200 } })
    .then((dead) => setState((s) => ({ failures: { ...failuresFromDead(dead), ...s.failures } })))
    .catch(() => {});
  applied = Math.max(applied, from);
  ready = true;
  const caught = early;
  early = [];
  for (const event of caught) receive(event);
  if (bus) {
    bus.post({ kind: 'hello' });
    bus.lead(lead);
  } else lead();
}

export async function logout(): Promise<void> {
  try {
    await api().deleteSession();
  } finally {
    ready = false;
    bus?.close();
    bus = undefined;
    subscription?.close();
    subscription = undefined;
    setState({ auth: 'anonymous', authError: null, everOpen: false });
  }
}
