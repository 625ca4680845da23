'use client';
/**
 * Control: the daemon (version, uptime, restart), the queue (counts, running runs with cancel,
 * dead letters with their reason, whole text, conversation and retry/delete), channels (start/stop/restart, the QR code of a QR-login channel such as WhatsApp), pairing requests
 * (approve/dismiss), the daemon log and the live event feed. Lists load once and reload when an
 * event says they changed (a dead letter, a pairing request, a channel), never on a timer.
 */
import Link from 'next/link';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ApiClient, ChannelLogin, PendingPairing, QueueMessageView } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { installHintOf, isInstalled } from '@/lib/runtimes';
import { useNow } from '@/lib/use-now';
import { ChannelError, ChannelState } from '@/components/channel-state';
import { QrCode } from '@/components/qr-code';
import { Button, ErrorLine, Panel, duration } from '@/components/ui';

export default function ControlPage() {
  const [error, setError] = useState<string | null>(null);
  const fail = (err: unknown) => setError(messageOf(err));
  return (
    <div className="space-y-4">
      <h1 className="sr-only">Control</h1>
      <ErrorLine error={error} />
      <div className="grid gap-4 lg:grid-cols-2">
        <DaemonPanel onError={fail} />
        <RunningPanel onError={fail} />
      </div>
      <DeadLetters onError={fail} />
      <div className="grid gap-4 lg:grid-cols-2">
        <ChannelsPanel onError={fail} />
        <PairingPanel onError={fail} />
      </div>
      <ProvidersPanel onError={fail} />
      <div className="grid gap-4 lg:grid-cols-2">
        <LogPanel onError={fail} />
        <FeedPanel />
      </div>
    </div>
  );
}

type OnError = { onError: (err: unknown) => void };

function DaemonPanel({ onError }: OnError) {
  const status = useStore((s) => s.status);
  const [restarting, setRestarting] = useState(false);
  const connection = useStore((s) => s.connection);
  useEffect(() => {
    if (connection === 'open') setRestarting(false);
  }, [connection]);
  if (!status) return null;
  const q = status.queue;
  return (
    <Panel
      title="Daemon"
      actions={
        <Button
          disabled={restarting}
          onClick={() => {
            if (!window.confirm('Restart the TinyAGI daemon? Running work resumes after the restart.')) return;
            setRestarting(true);
            api().restartDaemon().catch(onError);
          }}
        >
          {restarting ? 'Restarting…' : 'Restart daemon'}
        </Button>
      }
    >
      <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm">
        <dt className="text-slate-600 dark:text-slate-400">Version</dt>
        <dd>{status.version}</dd>
        <dt className="text-slate-600 dark:text-slate-400">Process</dt>
        <dd>
          pid {status.pid}, up since {new Date(status.startedAt).toLocaleString()}
        </dd>
        <dt className="text-slate-600 dark:text-slate-400">Queue</dt>
        <dd data-testid="queue-counts">
          {q.pending} pending · {q.processing} running · {q.dead} dead · {q.completed} done
        </dd>
      </dl>
    </Panel>
  );
}

function RunningPanel({ onError }: OnError) {
  const activity = useStore((s) => s.activity);
  const pausedRuns = useStore((s) => s.pausedRuns);
  const running = Object.entries(activity).filter(([, a]) => a.working && a.runId);
  const now = useNow(running.length > 0);
  return (
    <Panel title={`Running · ${running.length}`}>
      {running.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">Nothing is running.</p>
      ) : (
        <ul className="space-y-2 text-sm">
          {running.map(([agent, a]) => (
            <li key={a.runId} className="flex flex-wrap items-center gap-2">
              <span className="font-medium">{agent}</span>
              <span className="text-slate-600 dark:text-slate-400" data-testid="running-for">
                {duration(now - a.since)}
              </span>
              {a.runId && pausedRuns.includes(a.runId) && <span className="text-xs font-medium text-amber-800 dark:text-amber-300">paused</span>}
              {a.conversationId && (
                <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(a.conversationId)}`}>
                  run tree
                </Link>
              )}
              <Button
                tone="danger"
                className="ml-auto"
                onClick={() =>
                  api()
                    .cancelRun({ params: { id: a.runId! } })
                    .catch(onError)
                }
              >
                Kill
              </Button>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function DeadLetters({ onError }: OnError) {
  const [dead, setDead] = useState<QueueMessageView[] | null>(null);
  const load = useCallback(() => {
    api()
      .queueDead({ query: { limit: 100 } })
      .then(setDead)
      .catch(onError);
  }, [onError]);
  useEffect(load, [load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'queue.dead')) load();
  });
  return (
    <Panel title={`Dead letters · ${dead?.length ?? 0}`}>
      {dead === null ? (
        <p className="text-sm">Loading…</p>
      ) : dead.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No dead letters: every message was answered or is still being worked on.</p>
      ) : (
        <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800" data-testid="dead-letters">
          {dead.map((m) => (
            <li key={m.id} className="space-y-1 py-2" data-message={m.id}>
              <div className="flex flex-wrap items-center gap-2">
                <span className="font-medium">@{m.agentId}</span>
                <span className="text-xs text-slate-600 dark:text-slate-400">
                  {new Date(m.finishedAt ?? m.updatedAt).toLocaleString()} · {m.attempts}/{m.maxAttempts} attempts · {m.lastFailure ?? 'failed'}
                </span>
                <Link className="text-xs underline" href={`/conversations/view?id=${encodeURIComponent(m.conversationId)}`}>
                  Open the conversation
                </Link>
                <span className="ml-auto flex gap-1">
                  <Button
                    onClick={() =>
                      api()
                        .retryDead({ params: { id: m.id } })
                        .then(load)
                        .catch(onError)
                    }
                  >
                    Retry
                  </Button>
                  <Button
                    tone="danger"
                    onClick={() =>
                      api()
                        .deleteDead({ params: { id: m.id } })
                        .then(load)
                        .catch(onError)
                    }
                  >
                    Delete
                  </Button>
                </span>
              </div>
              <p className="text-red-800 dark:text-red-300" data-testid="dead-reason">
                {m.lastError ?? 'No error was recorded.'}
              </p>
              {/* The whole message, wrapped at word boundaries: long ones scroll inside their box. */}
              {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be reachable by keyboard to scroll it (WCAG 2.1.1) */}
              <p tabIndex={0} className="max-h-32 overflow-auto whitespace-pre-wrap break-words rounded bg-slate-100 p-2 text-xs dark:bg-slate-800" data-testid="dead-content">
                {m.content}
              </p>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function ChannelsPanel({ onError }: OnError) {
  const channels = useStore((s) => s.status?.channels ?? []);
  // The channel kinds that log in by QR code (GET /api/kinds), by name, with their titles.
  const [qrKinds, setQrKinds] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    api()
      .listKinds()
      .then((kinds) => setQrKinds(new Map(kinds.channels.filter((k) => k.login === 'qr').map((k) => [k.name, k.title]))))
      .catch(onError);
  }, [onError]);
  return (
    <Panel title="Channels">
      {channels.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">
          No channels enabled. Add one with <code className="font-mono">tinyagi channel setup</code>.
        </p>
      ) : (
        <ul className="space-y-2 text-sm">
          {channels.map((c) => (
            <li key={c.name} className="flex flex-wrap items-center gap-2">
              <span className="font-medium">{c.name}</span>
              <ChannelState channel={c} testId={`channel-state-${c.name}`} />
              <ChannelError channel={c} />
              <span className="ml-auto flex gap-1">
                {(['start', 'stop', 'restart'] as const).map((action) => (
                  <Button
                    key={action}
                    onClick={() =>
                      api()
                        .channelAction({ params: { name: c.name, action } })
                        .catch(onError)
                    }
                  >
                    {action}
                  </Button>
                ))}
              </span>
              {qrKinds.has(c.name) && <QrLogin name={c.name} title={qrKinds.get(c.name) ?? c.name} onError={onError} />}
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

/**
 * A QR-login channel (its kind's `login: 'qr'`, WhatsApp) links by scanning a QR code the channel
 * process writes to its state file. Read once, then again whenever a `channel.status` event for
 * it arrives (the channel restarted, linked or dropped), never on a timer.
 */
function QrLogin({ name, title, onError }: OnError & { name: string; title: string }) {
  const [login, setLogin] = useState<ChannelLogin | null>(null);
  const load = useCallback(() => {
    api().channelLogin({ params: { name } }).then(setLogin).catch(onError);
  }, [name, onError]);
  useEffect(load, [load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'channel.status' && e.data.channel === name)) load();
  });
  if (!login) return null;
  return (
    <div className="basis-full" data-testid={`${name}-login`} data-state={login.state}>
      {login.state === 'qr' && login.qr ? (
        <>
          <p className="mb-1 text-slate-600 dark:text-slate-300">Scan with {title} on your phone (Settings → Linked devices → Link a device):</p>
          <QrCode text={login.qr} label={`${title} login QR code`} />
        </>
      ) : (
        <p className="text-slate-600 dark:text-slate-300">{loginText(title, login.state)}</p>
      )}
    </div>
  );
}

function loginText(title: string, state: ChannelLogin['state']): string {
  switch (state) {
    case 'unknown':
      return `${title} has not started yet; its QR code appears here when it does.`;
    case 'connecting':
      return `${title} is connecting…`;
    case 'qr':
      return 'Waiting for a QR code…';
    case 'open':
      return `${title} is linked.`;
    case 'closed':
      return `${title} is disconnected; it reconnects on its own.`;
    case 'logged_out':
      return `${title} was logged out: restart the channel to get a new QR code.`;
  }
}

function PairingPanel({ onError }: OnError) {
  const [pending, setPending] = useState<PendingPairing[]>([]);
  const load = useCallback(() => {
    api()
      .listPairings()
      .then((p) => setPending(p.pending))
      .catch(onError);
  }, [onError]);
  useEffect(load, [load]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'pairing.requested')) load();
  });
  return (
    <Panel title="Pairing requests" actions={pending.length > 0 ? <span className="rounded-full bg-red-600 px-2 text-xs font-semibold text-white">{pending.length}</span> : null}>
      {pending.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">No one is waiting for approval.</p>
      ) : (
        <ul className="space-y-2 text-sm">
          {pending.map((p) => (
            <li key={p.code} className="flex flex-wrap items-center gap-2">
              <span>
                {p.sender} on {p.channel} <code className="font-mono">{p.code}</code>
              </span>
              <span className="ml-auto flex gap-1">
                <Button
                  tone="primary"
                  onClick={() =>
                    api()
                      .approvePairing({ body: { code: p.code } })
                      .then(load)
                      .catch(onError)
                  }
                >
                  Approve
                </Button>
                <Button
                  onClick={() =>
                    api()
                      .dismissPairing({ params: { code: p.code } })
                      .then(load)
                      .catch(onError)
                  }
                >
                  Deny
                </Button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

type Providers = Awaited<ReturnType<ApiClient['listProviders']>>;
type Runtimes = Awaited<ReturnType<ApiClient['listKinds']>>['runtimes'];

/** Anthropic with no key: Claude Code's own login is used only when the daemon's machine has the CLI. */
function noKeyText(claude: Runtimes[number] | undefined): string {
  if (claude === undefined || claude.cli === undefined) return 'no key';
  return claude.cli.installed ? 'no key (uses the Claude CLI login)' : 'no key (and no Claude CLI on the daemon’s machine to log in with)';
}

/**
 * The registered runtimes (GET /api/kinds: the built-ins and any a plugin added; one whose CLI
 * is not on the daemon's PATH marked not installed, with its install hint), providers and
 * whether their keys are set; the daemon only ever sends keys masked (`sk-…abcd`).
 */
function ProvidersPanel({ onError }: OnError) {
  const [providers, setProviders] = useState<Providers | null>(null);
  const [runtimes, setRuntimes] = useState<Runtimes>([]);
  useEffect(() => {
    api().listProviders().then(setProviders).catch(onError);
    api()
      .listKinds()
      .then((kinds) => setRuntimes(kinds.runtimes))
      .catch(onError);
  }, [onError]);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'settings.changed')) api().listProviders().then(setProviders).catch(onError);
  });
  if (!providers) return null;
  const rows: Array<[string, string, string]> = [
    ['anthropic', providers.anthropic.model ?? 'default model', providers.anthropic.api_key ?? providers.anthropic.oauth_token ?? noKeyText(runtimes.find((r) => r.name === 'claude-code'))],
    ['openai', providers.openai.model ?? 'default model', providers.openai.api_key ?? 'no key'],
    ...providers.custom.map((c): [string, string, string] => [`custom:${c.id} (${c.runtime ?? 'no runtime'})`, String(c['model'] ?? 'default model'), String(c['api_key'] ?? 'no key')]),
  ];
  return (
    <Panel title="Providers">
      <p className="mb-2 text-sm text-slate-600 dark:text-slate-300">
        Default for agents: <strong>{providers.default ?? 'none set'}</strong>. Change keys with <code className="font-mono">tinyagi provider</code>.
      </p>
      {runtimes.length > 0 && (
        <table className="mb-3 w-full text-left text-sm" aria-label="Runtimes">
          <thead>
            <tr className="text-xs text-slate-600 dark:text-slate-400">
              <th className="py-1 font-medium">runtime</th>
              <th className="py-1 font-medium">runs</th>
              <th className="py-1 font-medium">custom providers</th>
            </tr>
          </thead>
          <tbody>
            {runtimes.map((r) => (
              <tr key={r.name} className="border-t border-slate-200 dark:border-slate-800" title={r.description}>
                <td className="py-1 font-mono text-xs">{r.name}</td>
                <td className="py-1">
                  {r.command !== null ? `${r.title} (${r.command})` : r.title}
                  {!isInstalled(r) && <span className="block text-xs text-amber-900 dark:text-amber-200">not installed: {installHintOf(r)}</span>}
                </td>
                <td className="py-1">{r.customProvider !== null ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <table className="w-full text-left text-sm">
        <thead>
          <tr className="text-xs text-slate-600 dark:text-slate-400">
            <th className="py-1 font-medium">provider</th>
            <th className="py-1 font-medium">model</th>
            <th className="py-1 font-medium">key (masked)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, model, key]) => (
            <tr key={name} className="border-t border-slate-200 dark:border-slate-800">
              <td className="py-1">{name}</td>
              <td className="py-1">{model}</td>
              <td className="py-1 font-mono text-xs">{key}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

/** How often the open log panel re-reads the tail (a local daemon's log file, 200 lines). */
const LOG_REFRESH_MS = 5000;

/**
 * The daemon log's last 200 lines, newest at the bottom and in view: re-read every few seconds
 * while the tab is visible, staying at the bottom unless the reader scrolled up to read.
 */
function LogPanel({ onError }: OnError) {
  const [lines, setLines] = useState<string[] | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  const load = useCallback(() => {
    const el = box.current;
    pinned.current = el === null || el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    api()
      .logs({ query: { lines: 200 } })
      .then((l) => setLines(l.lines))
      .catch(onError);
  }, [onError]);
  useEffect(() => {
    load();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') load();
    }, LOG_REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);
  useLayoutEffect(() => {
    if (lines !== null && pinned.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  return (
    <Panel title="Daemon log" actions={<Button onClick={load}>Refresh</Button>}>
      {/* The panel's section already names it "Daemon log". */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be reachable by keyboard to scroll it (WCAG 2.1.1); not every browser makes scrollers focusable */}
      <pre ref={box} className="max-h-80 overflow-auto whitespace-pre-wrap text-xs" tabIndex={0} data-testid="daemon-log">
        {lines === null ? 'Loading…' : lines.length === 0 ? 'The log is empty.' : lines.join('\n')}
      </pre>
    </Panel>
  );
}

function FeedPanel() {
  const feed = useStore((s) => s.feed);
  const recent = feed.slice(-60).reverse();
  return (
    <Panel title="Live events">
      {recent.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">Events appear here as they happen.</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be reachable by keyboard to scroll it (WCAG 2.1.1); not every browser makes scrollers focusable
        <ol className="max-h-80 overflow-auto font-mono text-xs" tabIndex={0} aria-label="Live events" data-testid="feed">
          {recent.map((e) => (
            <li key={e.id}>
              <span className="text-slate-500 dark:text-slate-400">#{e.id}</span> {e.type}
              {e.agentId ? ` @${e.agentId}` : ''}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
