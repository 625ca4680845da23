'use client';
/**
 * The chat panel of the Chat page and of each agent's Chat tab: talk to any agent (@id) or team
 * (#id), or to one fixed target. An agent's history loads once; what is sent here
 * and everything its conversations produce (live progress, replies, a budget stop asking
 * "continue?") arrives through the tab's event stream.
 */
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { unsignReply, type AgentMessage, type TinyEvent } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { getState, useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { Avatar, Button, ErrorLine, Panel } from '@/components/ui';

interface Line {
  key: string;
  role: 'user' | 'agent' | 'progress' | 'prompt' | 'notice';
  who: string;
  text: string;
  conversationId: string | null;
}

const CHANNEL = 'web';

/** `target`: a fixed `@agent` or `#team` (no picker); without it the user picks. */
export function ChatPanel({ target: fixed, title = 'Chat' }: { target?: string; title?: string }) {
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const [picked, setTarget] = useState('');
  const target = fixed ?? picked;
  const [lines, setLines] = useState<Line[]>([]);
  const [progress, setProgress] = useState<Record<string, string>>({});
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const mine = useRef(new Set<string>());
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (fixed === undefined && picked === '' && agents.length > 0) setTarget(`@${agents[0]!.id}`);
  }, [agents, picked, fixed]);

  useEffect(() => {
    setLines([]);
    setProgress({});
    mine.current = new Set();
    if (!target.startsWith('@')) return;
    const id = target.slice(1);
    api()
      .agentMessages({ params: { id }, query: { limit: 50 } })
      .then((h) => setLines(h.messages.map(historyLine)))
      .catch((err: unknown) => setError(messageOf(err)));
  }, [target]);

  // Braces: scrollIntoView returns a promise in current Chromium, and an effect must not return one.
  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [lines, progress]);

  // The run can start (and even answer) before the POST's answer names its conversation: the
  // events already in the store are replayed for a conversation once it is known.
  const absorb = (events: TinyEvent[]) => {
    const added: Line[] = [];
    const nextProgress: Record<string, string> = {};
    let cleared = false;
    for (const e of events) {
      if (!e.conversationId || !mine.current.has(e.conversationId)) continue;
      if (e.type === 'run.progress' && e.agentId)
        nextProgress[e.agentId] = e.data.type === 'text' ? e.data.text.slice(0, 160) : e.data.type === 'tool' ? `using ${e.data.name}…` : e.data.type === 'status' ? e.data.message : 'working…';
      else if (e.type === 'run.started' && e.agentId) nextProgress[e.agentId] = 'thinking…';
      else if (e.type === 'outbox.enqueued') {
        added.push({ key: `o${e.id}`, role: 'agent', who: e.agentId ?? 'agent', text: unsignReply(e.data.text, e.agentId), conversationId: e.conversationId });
      } else if (e.type === 'budget.exceeded' || (e.type === 'guard.rejected' && e.data.action === 'stop')) {
        added.push({ key: `b${e.id}`, role: 'prompt', who: 'limit', text: e.data.message, conversationId: e.conversationId });
      } else if (e.type === 'conversation.completed') {
        cleared = true;
        if (e.data.status !== 'completed')
          added.push({ key: `c${e.id}`, role: 'notice', who: 'system', text: `The conversation ${e.data.status}${e.data.reason ? `: ${e.data.reason}` : ''}.`, conversationId: e.conversationId });
      }
      if ((e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.cancelled') && e.agentId) nextProgress[e.agentId] = '';
    }
    if (added.length > 0) setLines((l) => [...l, ...added]);
    if (Object.keys(nextProgress).length > 0 || cleared) {
      setProgress((p) => {
        const merged = cleared ? {} : { ...p };
        for (const [k, v] of Object.entries(nextProgress))
          if (v) merged[k] = v;
          else delete merged[k];
        return merged;
      });
    }
  };
  useLiveEvents(absorb);

  async function send(message: string): Promise<void> {
    if (message.trim() === '' || target === '') return;
    setSending(true);
    setError(null);
    try {
      const to = target.slice(1);
      const result = await api().sendMessage({ body: { message, channel: CHANNEL, sender: 'TinyOffice', senderId: 'tinyoffice', ...(target.startsWith('#') ? { team: to } : { agent: to }) } });
      setLines((l) => [...l, { key: `u${result.messageId || Date.now()}`, role: 'user', who: 'you', text: message, conversationId: result.conversationId || null }]);
      if (result.conversationId && !mine.current.has(result.conversationId)) {
        mine.current.add(result.conversationId);
        absorb(getState().feed.filter((e) => e.conversationId === result.conversationId));
      }
      setText('');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSending(false);
    }
  }

  const select = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
  return (
    <Panel
      title={title}
      actions={
        fixed === undefined && (
          <>
            <label className="sr-only" htmlFor="chat-target">
              Talk to
            </label>
            <select id="chat-target" className={select} value={target} onChange={(e) => setTarget(e.target.value)}>
              <optgroup label="Agents">
                {agents.map((a) => (
                  <option key={a.id} value={`@${a.id}`}>
                    @{a.id} {a.name ? `(${a.name})` : ''}
                  </option>
                ))}
              </optgroup>
              <optgroup label="Teams">
                {teams.map((t) => (
                  <option key={t.id} value={`#${t.id}`}>
                    #{t.id} {t.name ? `(${t.name})` : ''}
                  </option>
                ))}
              </optgroup>
            </select>
          </>
        )
      }
    >
      <div className="mb-3 max-h-[60vh] min-h-48 space-y-2 overflow-auto" data-testid="chat-log" aria-live="polite">
        {lines.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">No messages yet. Say hello.</p>}
        {lines.map((l) => (
          <ChatLine key={l.key} line={l} onAnswer={(answer) => void send(answer)} />
        ))}
        {Object.entries(progress).map(([agent, line]) => (
          <div key={`p-${agent}`} className="flex items-center gap-2 text-sm italic text-slate-600 dark:text-slate-300" data-testid="chat-progress">
            <Avatar id={agent} size="sm" /> {agent}: {line}
          </div>
        ))}
        <div ref={bottom} />
      </div>
      <ErrorLine error={error} />
      <form
        className="flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void send(text);
        }}
      >
        <label className="sr-only" htmlFor="chat-input">
          Message
        </label>
        <textarea
          id="chat-input"
          rows={2}
          className="flex-1 rounded border border-slate-300 bg-white p-2 text-sm dark:border-slate-600 dark:bg-slate-900"
          placeholder={target ? `Message ${target}` : 'No agents configured'}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void send(text);
            }
          }}
        />
        <Button type="submit" tone="primary" disabled={sending || text.trim() === '' || target === ''}>
          Send
        </Button>
      </form>
    </Panel>
  );
}

function historyLine(m: AgentMessage): Line {
  return { key: `h${m.id}`, role: m.role === 'user' ? 'user' : 'agent', who: m.role === 'user' ? m.sender : m.agentId, text: m.content, conversationId: m.conversationId };
}

function ChatLine({ line, onAnswer }: { line: Line; onAnswer: (answer: string) => void }) {
  if (line.role === 'prompt') {
    return (
      <fieldset aria-label="Limit reached" className="min-w-0 rounded border border-amber-300 bg-amber-50 p-2 text-sm dark:border-amber-800 dark:bg-amber-950">
        <p className="mb-2">{line.text} Continue?</p>
        <div className="flex gap-2">
          <Button tone="primary" onClick={() => onAnswer('continue')}>
            Continue
          </Button>
          <Button onClick={() => onAnswer('stop')}>Stop</Button>
        </div>
      </fieldset>
    );
  }
  const user = line.role === 'user';
  return (
    <div className={`flex gap-2 ${user ? 'flex-row-reverse text-right' : ''}`} data-role={line.role}>
      {!user && <Avatar id={line.who} size="sm" />}
      <div
        className={`max-w-[80%] rounded-lg px-3 py-2 text-sm ${user ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900' : line.role === 'notice' ? 'bg-amber-50 dark:bg-amber-950' : 'bg-slate-100 dark:bg-slate-800'}`}
      >
        {!user && <div className="mb-0.5 text-xs font-medium text-slate-600 dark:text-slate-300">{line.who}</div>}
        <p className="whitespace-pre-wrap break-words">{line.text}</p>
        {line.conversationId && (
          <Link
            className={`mt-1 block text-xs underline ${user ? 'text-slate-300 dark:text-slate-600' : 'text-slate-600 dark:text-slate-400'}`}
            href={`/conversations/view?id=${encodeURIComponent(line.conversationId)}`}
          >
            run tree
          </Link>
        )}
      </div>
    </div>
  );
}
