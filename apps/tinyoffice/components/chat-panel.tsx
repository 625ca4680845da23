'use client';
/**
 * The chat panel of the Chat page and of each agent's Chat tab: talk to any agent (@id) or team
 * (#id), or to one fixed target. History loads once (an agent's messages, and what a
 * run still under way was asked, from its transcript; a team's newest conversations), and every bubble says who wrote it: the person, which agent, or a handoff from
 * which agent. What is sent here and everything its conversations produce (what the agent is
 * doing right now, with a Stop button; replies; handoffs; failures; a budget stop asking
 * "continue?") arrives through the browser's event stream.
 */
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { isApiError, undeliveredText, unsignReply, type Agent, type AgentMessage, type Approval, type Team, type TinyEvent, type TranscriptEntry } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { describeProgress, getState, useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { Avatar, Button, ErrorLine, Panel } from '@/components/ui';
import { ApprovalCard } from '@/components/approval-card';

interface Line {
  key: string;
  role: 'user' | 'agent' | 'handoff' | 'prompt' | 'notice' | 'approval';
  /** Who wrote it, as the bubble says it ("You", "Alice on telegram", "@coder", "Handoff from @coder"). */
  author: string;
  /** The agent whose avatar the bubble shows (the writer of an agent line or a handoff). */
  agent: string | null;
  text: string;
  conversationId: string | null;
  /** An approval request of the conversation (role `approval`): its card, kept current from the store. */
  approvalId?: string;
}

/** An agent at work on one of this chat's conversations: what it is doing now. */
interface Working {
  runId: string;
  doing: string;
}

const CHANNEL = 'web';
const SENDER = 'TinyOffice';
/** How many of a team's newest conversations its chat history shows. */
const TEAM_HISTORY = 20;

/** `target`: a fixed `@agent` or `#team` (no picker); without it the user picks. */
export function ChatPanel({ target: fixed, title = 'Chat' }: { target?: string; title?: string }) {
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const connection = useStore((s) => s.connection);
  const approvals = useStore((s) => s.approvals);
  const [picked, setTarget] = useState('');
  const target = fixed ?? picked;
  const [lines, setLines] = useState<Line[]>([]);
  const [working, setWorking] = useState<Record<string, Working>>({});
  const [text, setText] = useState('');
  // `offline`: the daemon did not answer; such an error goes once the stream is open again.
  const [error, setError] = useState<{ message: string; offline: boolean } | null>(null);
  const [sending, setSending] = useState(false);
  const mine = useRef(new Set<string>());
  const bottom = useRef<HTMLDivElement>(null);
  const fail = (err: unknown) => setError({ message: messageOf(err), offline: isApiError(err) && err.status === 0 });

  useEffect(() => {
    if (fixed === undefined && picked === '' && agents.length > 0) setTarget(`@${agents[0]!.id}`);
  }, [agents, picked, fixed]);

  useEffect(() => {
    if (connection === 'open') setError((e) => (e?.offline ? null : e));
  }, [connection]);

  useEffect(() => {
    setLines([]);
    setWorking({});
    mine.current = new Set();
    if (target === '') return;
    let current = true;
    loadHistory(target)
      .then((history) => {
        if (!current) return;
        for (const id of history.active) mine.current.add(id);
        // Lines that arrived live while the history loaded stay after it; then what its open conversations wait on.
        const waiting = Object.values(getState().approvals)
          .filter((a) => a.status === 'pending' && a.conversationId !== null && history.active.includes(a.conversationId))
          .sort((a, b) => a.requestedAt - b.requestedAt)
          .map(approvalLine);
        setLines((live) => withLines(history.lines, [...live, ...waiting]));
        // Who works on them now, as the office knows it (what they said is in the history already).
        const busy = Object.entries(getState().activity).filter(([, a]) => a.working && a.runId && a.conversationId && history.active.includes(a.conversationId));
        setWorking(Object.fromEntries(busy.map(([agent, a]) => [agent, { runId: a.runId!, doing: a.bubble ?? 'working…' }])));
      })
      .catch(fail);
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target]);

  // Braces: scrollIntoView returns a promise in current Chromium, and an effect must not return one.
  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [lines, working]);

  // The run can start (and even answer) before the POST's answer names its conversation: the
  // events already in the store are replayed for a conversation once it is known.
  const absorb = (events: TinyEvent[]) => {
    const added: Line[] = [];
    const now: Record<string, Working | null> = {};
    for (const e of events) {
      if (e.type === 'conversation.started' && e.conversationId && !mine.current.has(e.conversationId) && startedFor(e, target))
        follow(e.conversationId, personLines(e.conversationId, e.data.channel));
      // A run of this chat's agent: what it was asked shows now (its history records it only when the run ends).
      if (e.type === 'run.started' && e.conversationId && e.runId && target === `@${e.agentId}`) follow(e.conversationId, runInputLines(e.conversationId, e.runId), true);
      if (!e.conversationId || !mine.current.has(e.conversationId)) continue;
      const line = liveLine(e);
      if (line) added.push(line);
      if (e.agentId && e.runId) {
        if (e.type === 'run.started') now[e.agentId] = { runId: e.runId, doing: 'thinking…' };
        else if (e.type === 'run.progress' && e.data.type !== 'usage') now[e.agentId] = { runId: e.runId, doing: describeProgress(e.data) };
        else if (e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.cancelled' || e.type === 'run.rejected') now[e.agentId] = null;
      }
    }
    if (added.length > 0) setLines((l) => withLines(l, added));
    if (Object.keys(now).length > 0) {
      setWorking((w) => withWorking(w, now));
    }
  };
  useLiveEvents(absorb);

  /** A conversation started elsewhere (another tab, the CLI, a channel) or a `run` of the agent: what it was asked, before its live lines, each once; then its events. */
  const follow = (conversationId: string, asked: Promise<Line[]>, run = false) => {
    mine.current.add(conversationId);
    asked
      .then((more) => setLines((l) => (run ? withPersonLines(l, unseen(l, more), conversationId, true) : hasPersonLine(l, conversationId) ? l : withPersonLines(l, more, conversationId))))
      .catch(fail);
  };

  async function send(message: string): Promise<void> {
    if (message.trim() === '' || target === '') return;
    setSending(true);
    setError(null);
    try {
      const to = target.slice(1);
      const result = await api().sendMessage({ body: { message, channel: CHANNEL, sender: SENDER, senderId: 'tinyoffice', ...(target.startsWith('#') ? { team: to } : { agent: to }) } });
      const line: Line = { key: `u${result.messageId || Date.now()}`, role: 'user', author: 'You', agent: null, text: message, conversationId: result.conversationId || null };
      // Its conversation.started may have come first and drawn it already.
      setLines((l) => (line.conversationId ? (hasPersonLine(l, line.conversationId) ? l : withPersonLines(l, [line], line.conversationId)) : [...l, line]));
      if (result.conversationId && !mine.current.has(result.conversationId)) {
        mine.current.add(result.conversationId);
        absorb(getState().feed.filter((e) => e.conversationId === result.conversationId));
      }
      setText('');
    } catch (err) {
      fail(err);
    } finally {
      setSending(false);
    }
  }

  return (
    <Panel title={title} actions={fixed === undefined && <TargetPicker target={target} agents={agents} teams={teams} onChange={setTarget} />}>
      <div className="mb-3 max-h-[60vh] min-h-48 space-y-2 overflow-auto" data-testid="chat-log" aria-live="polite">
        {lines.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">No messages yet. Say hello.</p>}
        {lines.map((l) =>
          l.role === 'approval' ? (
            // What the agent asks the person, where it asked: answered here or elsewhere, the card says by whom.
            approvals[l.approvalId ?? ''] ? (
              <ApprovalCard key={l.key} approval={approvals[l.approvalId ?? '']!} compact />
            ) : null
          ) : (
            <ChatLine key={l.key} line={l} onAnswer={(answer) => void send(answer)} />
          ),
        )}
        {Object.entries(working).map(([agent, w]) => (
          <WorkingLine
            key={`p-${agent}`}
            agent={agent}
            doing={Object.values(approvals).some((a) => a.runId === w.runId && a.status === 'pending') ? 'waiting for your answer' : w.doing}
            onStop={() =>
              api()
                .cancelRun({ params: { id: w.runId } })
                .catch(fail)
            }
          />
        ))}
        <div ref={bottom} />
      </div>
      <ErrorLine error={error?.message ?? null} />
      <MessageForm target={target} text={text} onText={setText} sending={sending} onSend={() => void send(text)} />
    </Panel>
  );
}

/** The target picker of the Chat page: an agent (@id) or a team (#id). */
function TargetPicker({ target, agents, teams, onChange }: { target: string; agents: Agent[]; teams: Team[]; onChange: (target: string) => void }) {
  const select = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
  return (
    <>
      <label className="sr-only" htmlFor="chat-target">
        Talk to
      </label>
      <select id="chat-target" className={select} value={target} onChange={(e) => onChange(e.target.value)}>
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
  );
}

/** An agent at work on one of the chat's conversations: what it is doing, and its Stop button. */
function WorkingLine({ agent, doing, onStop }: { agent: string; doing: string; onStop: () => void }) {
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm text-slate-600 dark:text-slate-300" data-testid="chat-progress" data-agent={agent}>
      <Avatar id={agent} size="sm" />
      <span className="min-w-0 flex-1 break-words">
        <span className="font-medium">{agent}:</span>{' '}
        <span className="italic" data-testid="chat-doing">
          {doing}
        </span>
      </span>
      <Button tone="danger" aria-label={`Stop @${agent}`} onClick={onStop}>
        Stop
      </Button>
    </div>
  );
}

/** The message box: Enter sends, Shift+Enter is a new line. */
function MessageForm({ target, text, onText, sending, onSend }: { target: string; text: string; onText: (text: string) => void; sending: boolean; onSend: () => void }) {
  return (
    <form
      className="flex gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        onSend();
      }}
    >
      <label className="sr-only" htmlFor="chat-input">
        Message
      </label>
      <textarea
        id="chat-input"
        rows={2}
        className="min-w-0 flex-1 rounded border border-slate-300 bg-white p-2 text-sm dark:border-slate-600 dark:bg-slate-900"
        placeholder={target ? `Message ${target}` : 'No agents configured'}
        value={text}
        onChange={(e) => onText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            onSend();
          }
        }}
      />
      <Button type="submit" tone="primary" disabled={sending || text.trim() === '' || target === ''}>
        Send
      </Button>
    </form>
  );
}

/** The agents at work after a batch of events: `now` sets an agent's line, or (null) removes it. */
function withWorking(working: Record<string, Working>, now: Record<string, Working | null>): Record<string, Working> {
  const next = { ...working };
  for (const [agent, doing] of Object.entries(now))
    if (doing) next[agent] = doing;
    else delete next[agent];
  return next;
}

/** The history of a target, oldest first, and its conversations still open (their events count as this chat's). */
async function loadHistory(target: string): Promise<{ lines: Line[]; active: string[] }> {
  const id = target.slice(1);
  if (target.startsWith('@')) {
    const history = await api().agentMessages({ params: { id }, query: { limit: 50 } });
    // What the agent works on now goes on live here: its messages are recorded when its run ends,
    // so what the run was asked comes from its conversation's transcript.
    const now = getState().activity[id];
    const lines = history.messages.map(agentHistoryLine);
    if (!now?.working || !now.conversationId) return { lines, active: [] };
    const asked = now.runId ? await runInputLines(now.conversationId, now.runId) : [];
    return { lines: [...lines, ...unseen(lines, asked)], active: [now.conversationId] };
  }
  const conversations = (await api().listConversations({ query: { team: id, limit: TEAM_HISTORY } })).reverse();
  const transcripts = await Promise.all(conversations.map((c) => api().getTranscript({ params: { id: c.id } })));
  return {
    lines: transcripts.flatMap((t, c) => t.entries.map((entry, i) => transcriptLine(entry, t.conversationId, i, conversations[c]!.channel))),
    active: conversations.filter((c) => c.status === 'active').map((c) => c.id),
  };
}

/** Whether a conversation that starts now belongs in the chat with `target` (`#team`: the team's; `@agent`: the agent's). */
function startedFor(e: Extract<TinyEvent, { type: 'conversation.started' }>, target: string): boolean {
  return target.startsWith('#') ? e.data.teamId === target.slice(1) : e.agentId === target.slice(1);
}

const hasPersonLine = (lines: readonly Line[], conversationId: string): boolean => lines.some((l) => l.role === 'user' && l.conversationId === conversationId);

/** The person's messages of a conversation that came in on `channel`, from its transcript. */
async function personLines(conversationId: string, channel: string): Promise<Line[]> {
  const t = await api().getTranscript({ params: { id: conversationId } });
  return t.entries.map((entry, i) => transcriptLine(entry, conversationId, i, channel)).filter((l) => l.role === 'user');
}

/** What a run received (its person's message, or a handoff), from its conversation's transcript; steering is the run tree's. */
async function runInputLines(conversationId: string, runId: string): Promise<Line[]> {
  const t = await api().getTranscript({ params: { id: conversationId } });
  return t.entries.filter((e) => e.runId === runId && e.direction === 'in' && e.steering === undefined).map((e) => ({ ...transcriptLine(e, conversationId, 0, ''), key: `r${runId}-${e.ts}` }));
}

/** The lines not drawn yet: the same words in the same conversation from the same side (the page's own message, the history) count as drawn. */
function unseen(lines: readonly Line[], more: readonly Line[]): Line[] {
  return more.filter((m) => !lines.some((l) => l.key === m.key || (l.role === m.role && l.conversationId === m.conversationId && l.text === m.text)));
}

/**
 * The person's message of a conversation goes before what the conversation already drew (an
 * agent can ask for approval, or answer, before the POST's answer or the transcript is back).
 */
function withPersonLines(lines: readonly Line[], person: readonly Line[], conversationId: string, liveOnly = false): Line[] {
  if (person.length === 0) return lines as Line[];
  // `liveOnly`: before what arrived live, after the conversation's history (its earlier rounds).
  const at = lines.findIndex((l) => l.conversationId === conversationId && !(liveOnly && l.key.startsWith('h')));
  return at < 0 ? [...lines, ...person] : [...lines.slice(0, at), ...person, ...lines.slice(at)];
}

/** The person as a bubble names them: this page's own messages are "You". */
function personName(sender: string, channel?: string): string {
  if (sender === SENDER) return 'You';
  // A sender named after its channel (the CLI's "cli" on "cli") is said once.
  return channel && channel !== CHANNEL && channel !== sender ? `${sender} on ${channel}` : sender;
}

/** A message an agent received from another agent (its sender is `@agent`). */
function handoffLine(key: string, from: string, to: string, subagent: boolean, text: string, conversationId: string | null): Line {
  return { key, role: 'handoff', author: subagent ? `Sub-agent task from ${from} to ${to}` : `Handoff from ${from} to ${to}`, agent: from.slice(1), text, conversationId };
}

function agentHistoryLine(m: AgentMessage): Line {
  const key = `h${m.id}`;
  if (m.role !== 'user') return { key, role: 'agent', author: `@${m.agentId}`, agent: m.agentId, text: m.content, conversationId: m.conversationId };
  if (m.sender.startsWith('@')) return handoffLine(key, m.sender, `@${m.agentId}`, m.channel === 'subagent', m.content, m.conversationId);
  return { key, role: 'user', author: personName(m.sender, m.channel), agent: null, text: m.content, conversationId: m.conversationId };
}

/** A transcript entry of a conversation that came in on `channel`, as a bubble. */
function transcriptLine(t: TranscriptEntry, conversationId: string, i: number, channel: string): Line {
  const key = `t${conversationId}-${i}`;
  if (t.direction === 'out') {
    const ended = t.status === 'failed' || t.status === 'cancelled' || t.status === 'rejected';
    return { key, role: ended ? 'notice' : 'agent', author: t.from, agent: t.from.slice(1), text: t.text, conversationId };
  }
  if (t.from.startsWith('@')) return handoffLine(key, t.from, t.to, t.cause === 'spawn', t.text, conversationId);
  return { key, role: 'user', author: personName(t.from, channel), agent: null, text: t.text, conversationId };
}

/** Lines added once each (an approval's line comes with the history and with its event). */
function withLines(lines: readonly Line[], more: readonly Line[]): Line[] {
  const known = new Set(lines.map((l) => l.key));
  const added = more.filter((l) => !known.has(l.key) && known.add(l.key));
  return added.length === 0 ? (lines as Line[]) : [...lines, ...added];
}

const approvalLine = (a: Approval): Line => ({ key: `a${a.id}`, role: 'approval', author: `@${a.agentId}`, agent: a.agentId, text: a.summary, conversationId: a.conversationId, approvalId: a.id });

/** The line an event of one of this chat's conversations adds, if any. */
function liveLine(e: TinyEvent): Line | null {
  const at = { conversationId: e.conversationId };
  if (e.type === 'approval.requested') return approvalLine(e.data.approval);
  if (e.type === 'outbox.enqueued') return { key: `o${e.id}`, role: 'agent', author: `@${e.agentId ?? 'agent'}`, agent: e.agentId, text: unsignReply(e.data.text, e.agentId), ...at };
  if (e.type === 'agent.mention') return handoffLine(`m${e.id}`, `@${e.data.fromAgent}`, `@${e.data.toAgent}`, false, '', e.conversationId);
  if (e.type === 'handoff.undelivered') return { key: `u${e.id}`, role: 'notice', author: 'Not delivered', agent: e.data.fromAgent, text: undeliveredText(e.data), ...at };
  if (e.type === 'run.failed') return { key: `f${e.id}`, role: 'notice', author: `@${e.agentId ?? 'agent'}`, agent: e.agentId, text: `Failed: ${e.data.error ?? 'no reason given'}`, ...at };
  if (e.type === 'budget.exceeded' || (e.type === 'guard.rejected' && e.data.action === 'stop')) return { key: `b${e.id}`, role: 'prompt', author: 'limit', agent: null, text: e.data.message, ...at };
  if (e.type === 'conversation.completed' && e.data.status !== 'completed') {
    return { key: `c${e.id}`, role: 'notice', author: 'TinyAGI', agent: null, text: `The conversation ${e.data.status}${e.data.reason ? `: ${e.data.reason}` : ''}.`, ...at };
  }
  return null;
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
  const person = line.role === 'user';
  const tone = person
    ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900'
    : line.role === 'notice'
      ? 'bg-amber-50 text-amber-950 dark:bg-amber-950 dark:text-amber-50'
      : line.role === 'handoff'
        ? 'border border-dashed border-violet-400 bg-violet-50 dark:border-violet-600 dark:bg-violet-950'
        : 'bg-slate-100 dark:bg-slate-800';
  return (
    <div className={`flex gap-2 ${person ? 'flex-row-reverse text-right' : ''}`} data-role={line.role}>
      {line.agent && <Avatar id={line.agent} size="sm" />}
      <div className={`max-w-[80%] rounded-lg px-3 py-2 text-sm ${tone}`}>
        <div className={`mb-0.5 text-xs font-medium ${person ? 'text-slate-300 dark:text-slate-600' : 'text-slate-600 dark:text-slate-300'}`} data-testid="author">
          {line.author}
        </div>
        {line.text && <p className="whitespace-pre-wrap break-words">{line.text}</p>}
        {line.conversationId && (
          <Link
            className={`mt-1 block text-xs underline ${person ? 'text-slate-300 dark:text-slate-600' : 'text-slate-600 dark:text-slate-400'}`}
            href={`/conversations/view?id=${encodeURIComponent(line.conversationId)}`}
          >
            run tree
          </Link>
        )}
      </div>
    </div>
  );
}
