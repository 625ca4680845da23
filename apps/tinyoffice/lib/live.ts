/**
 * The tab's one live connection: checks the session, loads the office once over REST, then
 * opens the single event stream (EventSource through @tinyagi/client, resumed with the last
 * event id after every drop) and folds each event into the store. Events are applied once per
 * animation frame so a burst renders once.
 */
import { isApiError, type EventSubscription, type TinyEvent } from '@tinyagi/client';
import { api, messageOf } from './api';
import { activityFromStatus, getState, pausedFromStatus, reduceEvent, setState } from './store';

let subscription: EventSubscription | undefined;
let booting = false;
let pending: TinyEvent[] = [];
let frame: number | undefined;

function flush(): void {
  frame = undefined;
  const batch = pending;
  pending = [];
  setState((s) => {
    let next = s;
    for (const event of batch) next = { ...next, ...reduceEvent(next, event) };
    return next;
  });
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

function onEvent(event: TinyEvent): void {
  if (event.type === 'settings.changed') reloadEntities();
  pending.push(event);
  if (frame === undefined) frame = requestAnimationFrame(flush);
}

/** Status, agents and teams: on the first load and after a reconnect (the daemon may have restarted). */
async function loadOffice(): Promise<number> {
  const [status, agents, teams] = await Promise.all([api().status(), api().listAgents(), api().listTeams()]);
  setState({ status, agents, teams, activity: activityFromStatus(status), pausedRuns: pausedFromStatus(status) });
  return status.lastEventId;
}

export function startLive(): void {
  if (booting || subscription) return;
  booting = true;
  void boot().finally(() => (booting = false));
}

async function boot(): Promise<void> {
  setState({ auth: 'checking', authError: null });
  let from: number;
  try {
    await api().getSession();
    from = await loadOffice();
  } catch (err) {
    const anonymous = isApiError(err) && err.status === 401;
    setState({ auth: anonymous ? 'anonymous' : 'unreachable', authError: messageOf(err) });
    return;
  }
  setState({ auth: 'ok' });
  const sub = api().subscribe({ transport: 'eventsource', lastEventId: from, reconnect: { initialDelayMs: 300, maxDelayMs: 5000 } });
  subscription = sub;
  sub.onEvent(onEvent);
  sub.onStateChange((connection, info) => {
    const wasDown = getState().everOpen && getState().connection === 'reconnecting';
    setState((s) => ({ connection, connectionInfo: info, everOpen: s.everOpen || connection === 'open' }));
    if (connection === 'open' && wasDown) loadOffice().catch(() => {});
    if (connection === 'closed') {
      subscription = undefined;
      if (info.error && info.error.status === 401) setState({ auth: 'anonymous', authError: info.error.message });
    }
  });
}

export async function logout(): Promise<void> {
  try {
    await api().deleteSession();
  } finally {
    subscription?.close();
    subscription = undefined;
    setState({ auth: 'anonymous', authError: null, everOpen: false });
  }
}
