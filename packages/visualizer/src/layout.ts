/**
 * The dashboard as lines of styled segments, sized to the terminal: a pure function of the state,
 * the clock and the screen size (render.ts only paints the lines). Each line is truncated to the
 * width when painted, and sections shrink or drop to fit the height, in this order of priority:
 * header, agents (with why a sandbox is degraded), run tree, the selected run's activity (plan, tool calls), handoffs,
 * queue/channels, activity. Colour is never the only signal:
 * every status also has a symbol or a word, so NO_COLOR loses nothing.
 */
import {
  approvalQuestion,
  approvalTaskRounds,
  approvalWorkflowBudget,
  channelStateText,
  channelStateTone,
  planLine,
  stepOutputLine,
  workflowStepTree,
  type ChannelState,
  type RunToolCall,
  type WorkflowRunStatus,
  type WorkflowStepStatus,
  type WorkflowTreeNode,
} from '@tinyagi/client';
import type { Approval } from '@tinyagi/client';
import {
  leaders,
  runTree,
  selectedApproval,
  selectedConversation,
  selectedRun,
  visibleAgents,
  visibleConversations,
  type ActivityLine,
  type AgentCard,
  type AgentStatus,
  type DashboardState,
  type RunStatus,
} from './state.ts';
import { selectedWorkflowRun, stepCounts, workflowRunning, type WorkflowRunRow } from './workflow-runs.ts';

export type Color = 'green' | 'yellow' | 'red' | 'cyan' | 'magenta' | 'blue' | 'gray';
export interface Segment {
  text: string;
  color?: Color;
  bold?: boolean;
  dim?: boolean;
}
export type Line = Segment[];

export interface Screen {
  width: number;
  height: number;
  now: number;
}

/** Below this width the dashboard drops columns (provider, costs) and shortens labels. */
export const NARROW = 60;

const seg = (text: string, style: Omit<Segment, 'text'> = {}): Segment => ({ text, ...style });

const AGENT_LOOK: Record<AgentStatus, { symbol: string; color: Color }> = {
  idle: { symbol: '○', color: 'gray' },
  working: { symbol: '●', color: 'green' },
  waiting: { symbol: '◌', color: 'yellow' },
  error: { symbol: '✗', color: 'red' },
};

/** An agent's sandbox mark (shown when its sandbox is not off): the symbol, the state, the node that runs it (several nodes), the colour. */
function sandboxMark(card: AgentCard): Segment | undefined {
  const status = card.sandbox;
  if (!status || status.state === 'off') return undefined;
  const on = status.node !== undefined ? ` on ${status.node}` : '';
  if (status.state === 'enforced') return seg(` ⛨ enforced${on}`, { color: 'green' });
  if (status.state === 'unknown') return seg(` ? unknown${on}`, { color: 'yellow' });
  // `required` and not enforced: its messages fail, so it is red, not yellow.
  return seg(` ⚠ degraded${on}`, status.refused ? { color: 'red', bold: true } : { color: 'yellow' });
}
/** The sandbox column's width: at least ' ⚠ degraded', more for a node's name. */
const SANDBOX_MARK_WIDTH = ' ⚠ degraded'.length;

const RUN_COLOR: Record<RunStatus, Color> = { queued: 'yellow', running: 'green', paused: 'yellow', completed: 'gray', failed: 'red', cancelled: 'magenta', rejected: 'red' };

export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const cost = (usd: number): string => (usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`);
const tokens = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));
const clock = (ts: number): string => new Date(ts).toTimeString().slice(0, 8);

/** The wait before the next try: counted down to it when its time is known, else as the client gave it. */
function retryIn(c: DashboardState['connection'], now: number): string {
  if (c.retryAt !== undefined) return `, in ${Math.max(0, Math.ceil((c.retryAt - now) / 1000))}s`;
  return c.retryInMs !== undefined ? `, in ${(c.retryInMs / 1000).toFixed(1)}s` : '';
}

const lineLength = (line: Line): number => line.reduce((n, s) => n + s.text.length, 0);

function header(state: DashboardState, screen: Screen, narrow: boolean): Line[] {
  const now = screen.now;
  const team = state.team === null ? 'all teams' : `#${state.team}`;
  const { connection: c } = state;
  const conn: Segment =
    c.state === 'open'
      ? seg('● live', { color: 'green' })
      : c.state === 'reconnecting'
        ? seg(`⟳ reconnecting (try ${c.attempt}${retryIn(c, now)})`, { color: 'yellow', bold: true })
        : c.state === 'connecting'
          ? seg('○ connecting…', { color: 'yellow' })
          : seg(`✗ disconnected${c.error ? `: ${c.error}` : ''}`, { color: 'red', bold: true });
  const q = state.queue;
  const pickup = state.pickup.lastMs === undefined ? '–' : `${Math.round(state.pickup.lastMs)}ms`;
  const stats: Line = [
    seg(`queue ${q.pending}`),
    seg(' · '),
    seg(`processing ${q.processing}`),
    seg(' · '),
    seg(`dead ${q.dead}`, q.dead > 0 ? { color: 'red', bold: true } : {}),
    seg(' · '),
    seg(`pickup ${pickup}`),
  ];
  const title: Line = [seg('TinyAGI', { bold: true, color: 'cyan' }), seg(' '), seg(team, { bold: true }), seg('  '), conn];
  // What waits for a person and the workflows at work: always in view, with the key that opens them.
  const flags: Line = [];
  const waiting = state.approvals.length;
  if (waiting > 0) flags.push(seg('  '), seg(`⚑ ${waiting} approval${waiting === 1 ? '' : 's'} (a)`, { color: 'yellow', bold: true }));
  const flows = workflowRunning(state.workflows);
  if (flows > 0) flags.push(seg('  '), seg(narrow ? `◆ ${flows} running (w)` : `◆ ${flows} workflow${flows === 1 ? '' : 's'} running (w)`, { color: 'cyan', bold: true }));
  // More lines rather than cut ones: the flags and the queue's numbers stay in view beside a long title.
  const fits = (line: Line): boolean => lineLength(line) <= screen.width;
  if (!narrow && fits([...title, ...flags, seg('  '), ...stats])) return [[...title, ...flags, seg('  '), ...stats]];
  if (fits([...title, ...flags])) return [[...title, ...flags], stats];
  return flags.length > 0 ? [title, flags.slice(1), stats] : [title, stats];
}

function agentLines(state: DashboardState, screen: Screen, narrow: boolean, max: number): Line[] {
  const cards = visibleAgents(state);
  const lead = leaders(state);
  if (cards.length === 0) return [[seg('No agents yet (tinyagi agent add).', { dim: true })]];
  const nameWidth = Math.min(16, Math.max(...cards.map((a) => a.id.length)) + 1);
  const shown = cards.length > max ? cards.slice(0, Math.max(1, max - 1)) : cards;
  const markWidth = Math.max(0, ...shown.map((a) => sandboxMark(a)?.text.length ?? 0));
  const sandboxed = markWidth > 0;
  const width = Math.max(SANDBOX_MARK_WIDTH, markWidth);
  const lines = shown.map((a): Line => {
    const look = AGENT_LOOK[a.status];
    const since = a.status === 'idle' && a.since === 0 ? '' : ` ${elapsed(screen.now - a.since)}`;
    const line: Line = [
      seg(lead.has(a.id) ? '★ ' : '  ', { color: 'yellow' }),
      seg(`@${a.id}`.padEnd(nameWidth + 1), { bold: true }),
      seg(`${look.symbol} ${a.status}${since}`.padEnd(narrow ? 12 : 16), { color: look.color }),
    ];
    // The sandbox column, when any agent shown has one (the others pad it, so the columns stay aligned).
    if (sandboxed) {
      const mark = sandboxMark(a);
      line.push(mark ? { ...mark, text: mark.text.padEnd(width) } : seg(''.padEnd(width)));
    }
    const model = [a.provider ?? '?', a.model].filter(Boolean).join('/');
    if (!narrow) line.push(seg(a.progress ? ` ${model}`.padEnd(20).slice(0, 20) : ` ${model}`, { dim: true }));
    if (a.progress) line.push(seg(` ${a.status === 'error' ? '' : '↳ '}${a.progress}`, a.status === 'error' ? { color: 'red' } : { dim: true }));
    return line;
  });
  if (shown.length < cards.length) lines.push([seg(`  … ${cards.length - shown.length} more`, { dim: true })]);
  return lines;
}

/** Words of `text` in lines of at most `width` characters (a word longer than a line is cut). */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(8, width);
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    for (let rest = word; rest.length > 0; ) {
      const room = current === '' ? w : w - current.length - 1;
      if (rest.length <= room) {
        current = current === '' ? rest : `${current} ${rest}`;
        rest = '';
      } else if (current !== '') {
        lines.push(current);
        current = '';
      } else {
        lines.push(rest.slice(0, w));
        rest = rest.slice(w);
      }
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

/**
 * Why a shown agent's sandbox is degraded (or unknown: its node is down), and what to change, under
 * the agents: agents with the same reason share one note (`⚠ @a @b sandbox degraded: <reason>`,
 * then `fix: <fix>`), wrapped to the width; at most `max` lines, the last cut with `…` when there
 * is more.
 */
function sandboxLines(state: DashboardState, screen: Screen, max: number): Line[] {
  if (max <= 0) return [];
  const groups = new Map<string, { agents: string[]; state: string; reason: string; fix?: string; refused: boolean }>();
  for (const a of visibleAgents(state)) {
    const s = a.sandbox;
    if (s?.state !== 'degraded' && s?.state !== 'unknown') continue;
    const reason = s.reason ?? 'the boundary is not enforced';
    const key = `${reason}\u0000${s.fix ?? ''}`;
    const group = groups.get(key) ?? { agents: [], state: s.state, reason, ...(s.fix ? { fix: s.fix } : {}), refused: false };
    group.agents.push(`@${a.id}`);
    group.refused ||= s.refused === true;
    groups.set(key, group);
  }
  const lines: Line[] = [];
  for (const g of groups.values()) {
    const head = `⚠ ${g.agents.join(' ')} sandbox ${g.state}: `;
    const color: Color = g.refused ? 'red' : 'yellow';
    // The first line starts after the head; the rest are indented under it.
    const first = wrapText(g.reason, screen.width - head.length);
    const restWidth = screen.width - 4;
    const reason = [first[0] ?? '', ...wrapText(first.slice(1).join(' '), restWidth)];
    lines.push([seg('⚠ ', { color }), seg(g.agents.join(' '), { bold: true }), seg(` sandbox ${g.state}: `, { color }), seg(reason[0]!)]);
    for (const more of reason.slice(1)) lines.push([seg(`    ${more}`)]);
    if (g.fix) {
      const fix = wrapText(`fix: ${g.fix}`, restWidth);
      for (const part of fix) lines.push([seg('    '), seg(part, { color: 'cyan' })]);
    }
  }
  if (lines.length <= max) return lines;
  const kept = lines.slice(0, max);
  const last = kept[max - 1]!;
  const end = last.at(-1)!;
  const full = last.reduce((n, s) => n + s.text.length, 0) >= screen.width;
  kept[max - 1] = [...last.slice(0, -1), { ...end, text: `${full ? end.text.slice(0, -1) : end.text}…` }];
  return kept;
}

function handoffLine(state: DashboardState, narrow: boolean): Line[] {
  const list = state.handoffs.filter((h) => state.team === null || h.teamId === state.team).slice(narrow ? -1 : -3);
  if (list.length === 0) return [];
  const line: Line = [seg('Handoffs ', { bold: true })];
  list.forEach((h, i) => {
    if (i > 0) line.push(seg('  '));
    line.push(seg(`@${h.from}`), seg(' ─▶ ', { color: 'cyan', bold: true }), seg(`@${h.to}`), seg(` hop ${h.hop}`, { dim: true }));
  });
  return [line];
}

function treeLines(state: DashboardState, narrow: boolean, max: number): Line[] {
  const list = visibleConversations(state);
  const conv = selectedConversation(state);
  if (!conv) return [[seg('No conversations yet.', { dim: true })]];
  const index = list.indexOf(conv) + 1;
  const head: Line = [
    seg(`Conversation ${index}/${list.length} `, { bold: true }),
    seg(conv.title ? `"${conv.title}" ` : `${conv.label || 'conversation'} `),
    seg(conv.status, { color: conv.status === 'active' ? 'green' : conv.status === 'completed' ? 'gray' : 'red' }),
  ];
  if (conv.stopReason && conv.status !== 'completed') head.push(seg(` (${conv.stopReason})`, { color: conv.status === 'cancelled' ? 'magenta' : 'red' }));
  if (!narrow) head.push(seg(` · ${tokens(conv.inputTokens + conv.outputTokens)} tok · ${cost(conv.costUsd)}`, { dim: true }));
  // The view stays where it is; newer activity is pointed at, not jumped to.
  if (index > 1) head.push(seg(` · ${index - 1} newer (C)`, { color: 'yellow' }));
  const runs = runTree(conv);
  const guide = treeGuides(runs.map((r) => r.level));
  const selected = selectedRun(state)?.runId;
  const rows = Math.max(1, max - 1);
  // Keep the selected run in view: show the window of the tree around it.
  const at = Math.max(
    0,
    runs.findIndex((r) => r.runId === selected),
  );
  const start = runs.length <= rows ? 0 : Math.min(Math.max(0, at - Math.floor(rows / 2)), runs.length - rows);
  const lines: Line[] = [head];
  const deepest = narrow ? 3 : 6;
  for (const [i, r] of runs.slice(start, start + rows).entries()) {
    const mark = r.runId === selected ? '▸' : ' ';
    const { last, through } = guide[start + i]!;
    // Guides of the nearest ancestors only, beyond the deepest level drawn.
    const indent = through
      .slice(Math.max(0, through.length - (deepest - 1)))
      .map((more) => (more ? '│ ' : '  '))
      .join('');
    const line: Line = [
      seg(`${mark} ${indent}${r.level > 0 ? (last ? '└─ ' : '├─ ') : ''}`, { color: 'cyan' }),
      seg(r.subagent ? `⤷ ${r.subagent} (@${r.agentId})` : `@${r.agentId}`, { bold: r.runId === selected }),
      seg(` d${r.depth}`, { dim: true }),
      seg(` ${r.status}`, { color: RUN_COLOR[r.status] }),
    ];
    if (!narrow) line.push(seg(` ${tokens(r.inputTokens + r.outputTokens)} tok ${cost(r.costUsd)}`, { dim: true }));
    if (r.error && (r.status === 'failed' || r.status === 'rejected' || r.status === 'cancelled')) line.push(seg(` ${r.error}`, { color: 'red' }));
    lines.push(line);
  }
  if (runs.length > rows) lines.push([seg(`  (${runs.length} runs; r selects)`, { dim: true })]);
  const note = steeringNote(state, selected);
  if (note) lines.push([seg(`  ${note}`, { color: 'yellow' })]);
  return lines;
}

/**
 * Tree guides for rows in display order (each run followed by its children) given their levels:
 * whether a row is the last child of its parent (`└─`, else `├─`), and for each ancestor level
 * above it (1 … level-1) whether that ancestor has a later sibling (a `│` runs past the row).
 */
export function treeGuides(levels: readonly number[]): Array<{ last: boolean; through: boolean[] }> {
  /** A row at `level` follows at `from` or later, before the tree climbs above `level`. */
  const siblingAfter = (from: number, level: number): boolean => {
    for (let j = from; j < levels.length; j++) {
      if (levels[j]! < level) return false;
      if (levels[j] === level) return true;
    }
    return false;
  };
  return levels.map((level, i) => ({
    last: !siblingAfter(i + 1, level),
    through: Array.from({ length: Math.max(0, level - 1) }, (_, k) => siblingAfter(i + 1, k + 1)),
  }));
}

/** For the selected live run: what `p` cannot do inside its turn, or that it may not be steered at all. */
function steeringNote(state: DashboardState, runId: string | undefined): string | undefined {
  const steering = state.steering;
  if (!steering || steering.runId !== runId) return undefined;
  const pause = steering.commands.find((c) => c.command === (steering.paused ? 'resume' : 'pause'));
  if (!pause) return undefined;
  if (!pause.allowed) return `p: ${pause.command} is not allowed for @${steering.agentId} (agents.${steering.agentId}.steering)`;
  return pause.midTurn ? undefined : `p: ${pause.note}`;
}

/** Held accounts, a banner under the header: who waits for which limit, until when. */
function quotaLines(state: DashboardState, now: number): Line[] {
  return Object.values(state.quotas)
    .filter((q) => q.resetsAt > now)
    .sort((a, b) => a.resetsAt - b.resetsAt)
    .map(
      (q): Line => [
        seg('⏸ rate limited ', { bold: true, color: 'yellow' }),
        seg(q.label, { bold: true }),
        seg(
          `${q.agents.length > 0 ? `: ${q.agents.map((a) => `@${a}`).join(' ')} wait` : ''} until ${clock(q.resetsAt).slice(0, 5)} (in ${elapsed(q.resetsAt - now)})${q.limit ? `, ${q.limit}` : ''}`,
          { color: 'yellow' },
        ),
      ],
    );
}

/** How each tone of channel state is drawn (the words are the contract's: channelStateText). */
const CHANNEL_LOOK: Record<ReturnType<typeof channelStateTone>, { mark: string; color?: Color }> = {
  good: { mark: '✓', color: 'green' },
  waiting: { mark: '⟳', color: 'yellow' },
  off: { mark: '·', color: 'gray' },
  bad: { mark: '✗', color: 'red' },
};

function channelLine(state: DashboardState): Line[] {
  const channels = Object.values(state.channels);
  if (channels.length === 0) return [];
  const line: Line = [seg('Channels ', { bold: true })];
  channels.forEach((c, i) => {
    const tone = channelStateTone(c.state as ChannelState);
    const look = CHANNEL_LOOK[tone];
    if (i > 0) line.push(seg('  '));
    line.push(
      seg(
        `${c.name} ${look.mark} ${channelStateText({ state: c.state as ChannelState, attempt: c.attempt, lastError: c.error ?? null, running: false })}`,
        look.color === undefined ? {} : { color: look.color },
      ),
    );
  });
  return [line];
}

const PLAN_MARK = { completed: '✓', in_progress: '▸', pending: '·' } as const;

function callLook(call: RunToolCall): { symbol: string; color: Color } {
  if (call.endedAt === null) return { symbol: '⟳', color: 'cyan' };
  return call.ok === false ? { symbol: '✗', color: 'red' } : { symbol: '✓', color: 'green' };
}

/**
 * The selected run's live activity under the tree: its plan (the summary, then the steps while
 * there is room) and its latest tool calls, newest last, each with ⟳ running, ✓ done or ✗ failed.
 */
function runActivityLines(state: DashboardState, narrow: boolean, max: number): Line[] {
  const run = selectedRun(state);
  if (!run || max < 2) return [];
  const { tools, plan, usage, droppedTools } = run.activity;
  if (tools.length === 0 && plan === null) return [];
  const head: Line = [seg(`Run activity @${run.agentId}`, { bold: true }), seg(` ${tools.length + droppedTools} tool calls`, { dim: true })];
  if (usage.calls > 0 && !narrow) head.push(seg(` · ${usage.calls} model calls${usage.cacheReadTokens > 0 ? ` · ${tokens(usage.cacheReadTokens)} cached` : ''}`, { dim: true }));
  const lines: Line[] = [head];
  let room = max - 1;
  const callRows = Math.min(tools.length, plan ? Math.max(1, Math.ceil(room / 2)) : room);
  if (plan && room > callRows) {
    lines.push([seg('  '), seg(planLine(plan), { color: 'yellow' })]);
    room -= 1;
    for (const step of plan.slice(0, Math.max(0, room - callRows))) {
      lines.push([
        seg(`    ${PLAN_MARK[step.status]} `, { color: step.status === 'in_progress' ? 'yellow' : step.status === 'completed' ? 'green' : 'gray' }),
        seg(step.text, step.status === 'completed' ? { dim: true } : {}),
      ]);
      room -= 1;
    }
  }
  for (const call of tools.slice(-Math.min(callRows, room))) {
    const look = callLook(call);
    const line: Line = [seg(`  ${look.symbol} `, { color: look.color }), seg(call.name, { bold: call.endedAt === null })];
    if (call.title) line.push(seg(` ${call.title}`));
    if (call.ok === false && call.output)
      line.push(
        seg(
          ` — ${
            call.output
              .split('\n')
              .find((l) => l.trim() !== '')
              ?.trim() ?? ''
          }`,
          { color: 'red' },
        ),
      );
    lines.push(line);
  }
  return lines;
}

const LEVEL_COLOR: Record<ActivityLine['level'], Color | undefined> = { info: undefined, warn: 'yellow', error: 'red' };

function activityLines(state: DashboardState, narrow: boolean, max: number): Line[] {
  if (max <= 0) return [];
  const lines: Line[] = [[seg('Activity', { bold: true }), seg(` (${state.eventsSeen} events)`, { dim: true })]];
  for (const a of state.activity.slice(-(max - 1))) {
    lines.push([seg(narrow ? '' : `${clock(a.ts)} `, { dim: true }), seg(a.text, LEVEL_COLOR[a.level] ? { color: LEVEL_COLOR[a.level]! } : {})]);
  }
  return lines;
}

/** `9m58s left`, or `expired` once its time is up. */
function timeLeft(a: Approval, now: number): string {
  if (a.expiresAt === null) return 'waits until answered';
  return a.expiresAt > now ? `${elapsed(a.expiresAt - now)} left` : 'expiring';
}

function oneLine(value: unknown, max: number): string {
  const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The approvals panel (key `a`): every request waiting for a person, the selected one marked ▸
 * with what it asks in full (its input, masked by the daemon; a question's choices numbered),
 * the keys that answer it, and the reason or answer being typed.
 */
function approvalLines(state: DashboardState, screen: Screen, narrow: boolean): Line[] {
  const list = state.approvals;
  const lines: Line[] = [[seg(`Approvals waiting (${list.length})`, { bold: true }), seg(list.length > 1 ? ' ↑/↓ select' : '', { dim: true })]];
  if (list.length === 0) return [...lines, [seg('  Nothing waits for your answer.', { dim: true })], [seg('  Esc close', { dim: true })]];
  const chosen = selectedApproval(state);
  const shown = Math.max(1, Math.min(list.length, screen.height - 12));
  const at = Math.max(0, list.indexOf(chosen!));
  const start = Math.min(Math.max(0, at - Math.floor(shown / 2)), list.length - shown);
  for (const a of list.slice(start, start + shown)) {
    const mine = a === chosen;
    lines.push([
      seg(mine ? '▸ ' : '  ', { color: 'cyan' }),
      seg(`@${a.agentId} `, { bold: mine }),
      seg(a.kind === 'question' ? '? ' : '', { color: 'yellow' }),
      seg(a.summary, { bold: mine }),
      seg(` · ${timeLeft(a, screen.now)}${narrow ? '' : ` · ${a.id}`}`, { dim: true }),
    ]);
  }
  if (!chosen) return lines;
  lines.push([]);
  if (chosen.kind === 'question') {
    const { question, choices } = approvalQuestion(chosen);
    lines.push([seg(`@${chosen.agentId} asks: `, { bold: true }), seg(oneLine(question, 400))]);
    for (const [i, c] of choices.slice(0, 9).entries()) lines.push([seg(`  ${i + 1}) `, { bold: true, color: 'cyan' }), seg(c)]);
  } else if (chosen.kind === 'egress') {
    lines.push([seg(`@${chosen.agentId} asks: `, { bold: true }), seg(oneLine(chosen.summary, 400), { bold: true })]);
  } else if (chosen.kind === 'task_rounds') {
    const t = approvalTaskRounds(chosen);
    lines.push([seg(`Task ${t.identifier} of @${chosen.agentId} waits for a person: `, { bold: true }), seg(oneLine(t.title, 200), { bold: true })]);
    for (const m of t.missing.slice(0, 3)) lines.push([seg(`  ${oneLine(m, 300)}`, { dim: true })]);
  } else if (chosen.kind === 'workflow_budget') {
    const run = approvalWorkflowBudget(chosen).workflowRunId;
    lines.push([seg(oneLine(chosen.summary, 400), { bold: true })]);
    lines.push([seg(`  run ${run}${chosen.agentId === 'person' ? '' : `, started by @${chosen.agentId}`}`, { dim: true })]);
  } else {
    lines.push([seg(`@${chosen.agentId} asks to run `, { bold: true }), seg(chosen.tool, { bold: true }), seg(` ${oneLine(chosen.input, 400)}`, { dim: true })]);
  }
  const typing = state.approvalsPanel.input;
  if (typing && typing.id === chosen.id) {
    lines.push([seg(typing.mode === 'reason' ? 'Reason (the agent reads it): ' : 'Answer: ', { bold: true, color: 'yellow' }), seg(`${typing.text}▌`)]);
    lines.push([seg(`Enter ${typing.mode === 'reason' ? (chosen.kind === 'question' ? 'declines' : 'denies') : 'answers'} · Esc back`, { dim: true })]);
  } else if (chosen.kind === 'question') {
    lines.push([seg(`${questionHint(chosen)}i / Enter type an answer · d decline · Esc close`, { color: 'cyan' })]);
  } else if (chosen.kind === 'task_rounds') {
    lines.push([seg(`m another ${approvalTaskRounds(chosen).moreRounds} rounds · t take over · x stop · Esc close`, { color: 'cyan' })]);
  } else if (chosen.kind === 'workflow_budget') {
    lines.push([seg('r raise the budget (the same again) · x stop the run · Esc close', { color: 'cyan' })]);
  } else if (chosen.kind === 'egress') {
    lines.push([seg('o allow once · A allow always (adds the host to its list) · d deny (reason) · Esc close', { color: 'cyan' })]);
  } else {
    lines.push([seg('o allow once · s allow for the session · A allow always (adds a rule) · d deny (reason) · Esc close', { color: 'cyan' })]);
  }
  return lines;
}

const WORKFLOW_LOOK: Record<WorkflowRunStatus, { symbol: string; color: Color }> = {
  running: { symbol: '●', color: 'green' },
  paused: { symbol: '◌', color: 'yellow' },
  completed: { symbol: '✓', color: 'gray' },
  failed: { symbol: '✗', color: 'red' },
  cancelled: { symbol: '⊘', color: 'magenta' },
};
const STEP_LOOK: Record<WorkflowStepStatus, { symbol: string; color: Color }> = {
  running: { symbol: '●', color: 'cyan' },
  completed: { symbol: '✓', color: 'green' },
  failed: { symbol: '✗', color: 'red' },
};

const runLabel = (r: WorkflowRunRow): string => r.name || r.id;

/**
 * The Workflows panel (key `w`): the runs, newest first, each with its state in words, its steps
 * done of all and its cost; under them the selected run (▸) and its steps as a tree (the client's
 * workflowStepTree), each with its state, agent, cost and the first line of its output or error.
 * At most `max` lines: the list and the tree each show the window around what matters (the
 * selected run; the first running or failed step).
 */
function workflowLines(state: DashboardState, screen: Screen, narrow: boolean, max: number): Line[] {
  const ws = state.workflows;
  const running = workflowRunning(ws);
  const head: Line = [seg(`Workflow runs (${ws.runs.length}${running > 0 ? `, ${running} running` : ''})`, { bold: true })];
  const chosen = selectedWorkflowRun(ws);
  if (!chosen) return [head, [seg('  No workflow runs yet (tinyagi workflow run FILE starts one).', { dim: true })]];
  const shown = Math.max(1, Math.min(ws.runs.length, Math.floor((max - 1) / 3)));
  const at = Math.max(0, ws.runs.indexOf(chosen));
  const start = Math.min(Math.max(0, at - Math.floor(shown / 2)), ws.runs.length - shown);
  const nameWidth = Math.min(narrow ? 12 : 24, Math.max(...ws.runs.map((r) => runLabel(r).length)));
  const lines: Line[] = [head];
  for (const r of ws.runs.slice(start, start + shown)) {
    const mine = r === chosen;
    const look = WORKFLOW_LOOK[r.status];
    const c = stepCounts(r);
    const line: Line = [
      seg(mine ? '▸ ' : '  ', { color: 'cyan' }),
      seg(runLabel(r).slice(0, nameWidth).padEnd(nameWidth), { bold: mine }),
      seg(` ${look.symbol} ${r.status}`.padEnd(narrow ? 12 : 13), { color: look.color }),
      seg(` ${c.completed}/${c.total}${narrow ? '' : ' steps'}`),
      seg(` ${cost(c.costUsd)}`, { dim: true }),
    ];
    if (!narrow) line.push(seg(` ${clock(r.createdAt)} ${r.id}`, { dim: true }));
    lines.push(line);
  }
  return [...lines, [], ...workflowRunLines(state, chosen, screen, narrow, max - lines.length - 1)];
}

/** The selected run: its state, steps and spend, why it stopped, then its step tree. */
function workflowRunLines(state: DashboardState, run: WorkflowRunRow, screen: Screen, narrow: boolean, max: number): Line[] {
  const look = WORKFLOW_LOOK[run.status];
  const c = stepCounts(run);
  const more = [c.running > 0 ? `${c.running} running` : '', c.failed > 0 ? `${c.failed} failed` : ''].filter(Boolean).join(', ');
  const lines: Line[] = [
    [
      seg(runLabel(run), { bold: true }),
      seg(` ${look.symbol} ${run.status}`, { color: look.color, bold: true }),
      seg(narrow ? ` · ${c.completed}/${c.total} done · ${cost(c.costUsd)}` : ` · ${c.completed}/${c.total} steps done${more ? `, ${more}` : ''} · ${cost(c.costUsd)} · ${tokens(c.tokens)} tok`),
    ],
  ];
  // Why it stopped, in two lines at most (a budget's reason says what to do next).
  const reason = run.reason ? wrapText(run.reason, screen.width - 2) : [];
  if (reason.length > 2) reason.splice(1, reason.length - 1, `${reason[1]!.slice(0, screen.width - 3)}…`);
  for (const part of reason) lines.push([seg(`  ${part}`, { color: look.color })]);
  if (run.status === 'paused' || run.status === 'failed') lines.push([seg(`  tinyagi workflow resume ${run.id} goes on`, { dim: true })]);
  const detail = state.workflows.detail;
  if (detail?.run.id !== run.id) return [...lines, [seg('  Reading its steps…', { dim: true })]];
  if (detail.steps.length === 0) return [...lines, [seg('  No steps yet.', { dim: true })]];
  return [...lines, ...stepTreeLines(workflowStepTree(detail.steps), run.id, narrow, max - lines.length)];
}

/** A step tree's rows in at most `max` lines, with the guides of the run tree; the first running (else failed) step kept in view. */
function stepTreeLines(roots: WorkflowTreeNode[], runId: string, narrow: boolean, max: number): Line[] {
  const rows: Array<{ node: WorkflowTreeNode; level: number }> = [];
  const walk = (nodes: WorkflowTreeNode[], level: number): void => {
    for (const node of nodes) {
      rows.push({ node, level });
      walk(node.children, level + 1);
    }
  };
  walk(roots, 0);
  const guide = treeGuides(rows.map((r) => r.level));
  const fits = rows.length <= max;
  const room = fits ? rows.length : Math.max(1, max - 1);
  const focusOf = (status: WorkflowStepStatus): number => rows.findIndex((r) => r.node.step?.status === status);
  const focus = Math.max(0, focusOf('running') >= 0 ? focusOf('running') : focusOf('failed'));
  const start = fits ? 0 : Math.min(Math.max(0, focus - Math.floor(room / 2)), rows.length - room);
  const lines = rows.slice(start, start + room).map(({ node, level }, i): Line => {
    const { last, through } = guide[start + i]!;
    const indent = through.map((more) => (more ? '│ ' : '  ')).join('');
    return [seg(`  ${indent}${level > 0 ? (last ? '└─ ' : '├─ ') : ''}`, { color: 'cyan' }), ...stepNodeLine(node, narrow)];
  });
  if (!fits) lines.push([seg(`  rows ${start + 1}-${start + room} of ${rows.length}${narrow ? '' : ` · all: tinyagi workflow show ${runId}`}`, { dim: true })]);
  return lines;
}

/** A step: its state, agent (or kind), cost and the first line of its error or output; a group or branch: its steps' state and totals. */
function stepNodeLine(node: WorkflowTreeNode, narrow: boolean): Line {
  const { status, steps, completed, costUsd, tokens: used } = node.totals;
  const look = STEP_LOOK[status];
  const step = node.step;
  const line: Line = [seg(`${look.symbol} `, { color: look.color }), seg(node.name, { bold: true })];
  line.push(step === null ? seg('') : seg(step.agentId !== null ? ` @${step.agentId}` : ` ${step.kind}`, { dim: step.agentId === null }));
  line.push(seg(` ${status}`, { color: look.color }));
  if (step === null) line.push(seg(` ${completed}/${steps}${narrow ? '' : ' steps'}`));
  if (costUsd > 0) line.push(seg(` ${cost(costUsd)}`, { dim: true }));
  if (used > 0 && !narrow) line.push(seg(` ${tokens(used)} tok`, { dim: true }));
  const error = step ? oneLine(stepOutputLine(step.error, 200), 200) : '';
  const output = step && !error ? oneLine(stepOutputLine(step.output, 200), 200) : '';
  if (error) line.push(seg(` ${error}`, { color: 'red' }));
  else if (output) line.push(seg(` ${output}`, { dim: true }));
  return line;
}

function questionHint(a: Approval): string {
  const n = Math.min(9, approvalQuestion(a).choices.length);
  return n > 0 ? `1-${n} choose · ` : '';
}

function footer(state: DashboardState, narrow: boolean): Line[] {
  const lines: Line[] = [];
  if (state.notice) lines.push([seg(state.notice.text, { color: state.notice.level === 'error' ? 'red' : 'green' })]);
  const keys =
    state.workflows.panel.open && !state.help
      ? narrow
        ? '↑/↓ run · Esc close · ? help'
        : '↑/↓ or k/j select a run · Esc, q or w close · a approvals · ? help'
      : narrow
        ? 't team · c conv · ? help · q quit'
        : 't team · c conversation · r run · x cancel · p pause/resume · ? help · q quit';
  lines.push([seg(keys, { dim: true })]);
  return lines;
}

export const HELP: Array<[string, string]> = [
  ['t / T', 'next / previous team (and "all teams")'],
  ['c / C', 'next / previous conversation of the team'],
  ['r / R', 'next / previous run of the conversation'],
  ['x', 'cancel the selected run and its sub-runs'],
  ['a', 'approvals: o once · s session · A always · d deny · 1-9/i answer a question'],
  ['p', 'pause or resume the selected run'],
  ['w', 'workflow runs: ↑/↓ pick a run, its steps as a tree · Esc close'],
  ['?', 'show or hide this help'],
  ['q / Esc', 'quit (Esc closes the help first)'],
];

function helpLines(): Line[] {
  return [
    [seg('Keys', { bold: true })],
    ...HELP.map(([key, what]): Line => [seg(`  ${key.padEnd(9)}`, { bold: true, color: 'cyan' }), seg(what)]),
    [],
    [seg('Agent status: ○ idle  ● working  ◌ waiting  ✗ error   ★ team leader', { dim: true })],
    [seg('Sandbox: ⛨ enforced  ⚠ degraded (why and the fix: under the agents)', { dim: true })],
    [seg('Workflow runs: ● running  ◌ paused  ✓ completed  ✗ failed  ⊘ cancelled', { dim: true })],
    [seg('The selected run is marked ▸. Press ? or Esc to close.', { dim: true })],
  ];
}

/** The whole screen: at most `screen.height` lines. */
export function layout(state: DashboardState, screen: Screen): Line[] {
  const narrow = screen.width < NARROW;
  const top = header(state, screen, narrow);
  const bottom = footer(state, narrow);
  if (state.help) return [...top, ...helpLines(), ...bottom].slice(0, screen.height);
  if (state.approvalsPanel.open) {
    const panel = approvalLines(state, screen, narrow);
    return [...top, ...panel.slice(0, Math.max(0, screen.height - top.length - bottom.length)), ...bottom];
  }
  if (state.workflows.panel.open) {
    const room = Math.max(0, screen.height - top.length - bottom.length);
    return [...top, ...workflowLines(state, screen, narrow, room).slice(0, room), ...bottom];
  }
  const height = screen.height - top.length - bottom.length;
  const rows = Math.max(2, Math.min(8, Math.floor(height / 3)));
  const { quotas, agents, rest, spare } = sections(state, screen, narrow, height, rows);
  // Rows the other sections leave empty go to the agents (50 agents on a tall terminal: as many as fit, not 7 and a blank screen).
  const more = Math.min(spare, visibleAgents(state).length - rows);
  return [...top, ...quotas, ...(more > 0 ? agentLines(state, screen, narrow, rows + more) : agents), ...rest, ...bottom];
}

/** The sections under the header in `height` lines, the agents in at most `agentRows`; `spare`: the lines left empty. */
function sections(state: DashboardState, screen: Screen, narrow: boolean, height: number, agentRows: number): { quotas: Line[]; agents: Line[]; rest: Line[]; spare: number } {
  let budget = height;
  const take = (lines: Line[]): Line[] => {
    const kept = lines.slice(0, Math.max(0, budget));
    budget -= kept.length;
    return kept;
  };
  const quotas = take(quotaLines(state, screen.now));
  const agents = take(agentLines(state, screen, narrow, agentRows));
  const sandbox = take(sandboxLines(state, screen, Math.min(6, Math.floor(budget / 3))));
  const handoffs = take(handoffLine(state, narrow));
  const tree = take(treeLines(state, narrow, Math.max(2, Math.min(10, Math.floor(budget / 2)))));
  const runActivity = take(runActivityLines(state, narrow, Math.min(10, Math.floor(budget / 2))));
  const channels = take(channelLine(state));
  const activity = take(activityLines(state, narrow, budget));
  return { quotas, agents, rest: [...sandbox, ...handoffs, ...tree, ...runActivity, ...channels, ...activity], spare: budget };
}
