/**
 * The approval requests of a conversation `send --wait` follows (docs/approvals.md, "From the
 * CLI"). On a terminal (stdin and stdout TTYs, not `--json`) each request is printed and asked in
 * turn: a permission as `[o]nce / [s]ession / [a]lways / [d]eny (reason) ?` (a connection, kind
 * `egress`, without the session), a question with its
 * numbered choices and a free-text answer. The answer goes to the daemon as `by: 'cli'`. A
 * request answered elsewhere meanwhile (TinyOffice, a chat app, another shell) or expired
 * withdraws its prompt, saying who decided. Ctrl-C at the prompt leaves the request pending, says
 * how to answer it later, and stops waiting (exit code 130) as Ctrl-C always did. Elsewhere (no terminal) one line
 * says how to answer; nothing blocks. `tinyagi chat` lends its own readline (`readline`): the
 * request is asked on the chat's prompt line, and its Ctrl-C stops the wait as it does for a reply.
 */
import { clearLine, cursorTo } from 'node:readline';
import type { Interface } from 'node:readline/promises';
import { approvalAnswers, approvalOutcome, approvalQuestion, isApiError, type ApiClient, type Approval, type ApprovalDecision, type EventView } from '@tinyagi/client';
import { errStyle } from '../output/style.ts';

/**
 * `Allowed once by cli: @coder Bash: npm test.`, `Denied by tinyoffice: @coder Bash: make deploy
 * (not on a Friday).`, `Answered by cli: @coder Which branch? -> main.`: the outcome in the words
 * of every surface (approvalOutcome), framed for the terminal.
 */
export function describeApproval(a: Approval): string {
  const { head, by, detail } = approvalOutcome(a);
  const after = detail === undefined ? '' : a.status === 'answered' && a.kind !== 'task_rounds' && a.kind !== 'workflow_budget' ? ` -> ${detail}` : ` (${detail})`;
  // A workflow run's budget says its run in its summary; its starter may be a person.
  const who = a.kind === 'workflow_budget' ? '' : `@${a.agentId} `;
  const line = `${head}${by ? ` by ${by}` : ''}: ${who}${a.summary}${after}`;
  return /[.?!]$/.test(line) ? line : `${line}.`;
}

/** How to answer a request from another shell: the commands, with its id. */
export function answerHint(a: Approval): string {
  if (a.kind === 'question') return `answer with \`tinyagi answer ${a.id} <text>\` or decline with \`tinyagi deny ${a.id}\``;
  if (a.kind === 'task_rounds') return `answer with \`tinyagi rounds ${a.id} more [n]\`, \`take-over\` or \`stop\``;
  if (a.kind === 'workflow_budget') return `answer with \`tinyagi budget ${a.id} raise\` (--budget USD, --budget-tokens N) or \`stop\``;
  // A connection (egress) has no session: --always adds its host to the agent's list.
  return `answer with \`tinyagi approve ${a.id}\` (${a.kind === 'egress' ? '--always' : '--session, --always'}) or \`tinyagi deny ${a.id} --reason "…"\``;
}

function expiry(a: Approval, now: number): string {
  if (a.expiresAt === null) return 'waits until answered';
  const s = Math.max(0, Math.round((a.expiresAt - now) / 1000));
  const left = s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `expires in ${left}, at ${new Date(a.expiresAt).toTimeString().slice(0, 8)}`;
}

/** A request that was not answered here: `Answered elsewhere: Denied by tinyoffice: …`, `Expired: …`. */
function settledElsewhere(a: Approval): string {
  return a.status === 'expired' || a.status === 'cancelled' ? describeApproval(a) : `Answered elsewhere: ${describeApproval(a)}`;
}

export interface ApprovalPrompter {
  /** Every event of the conversation (only `approval.*` ones matter). */
  onEvent(event: EventView): void;
  /** Writes a line (progress) above an open prompt, which is drawn again below it with what was typed. */
  print(line: string): void;
  /** The wait ended: a prompt still open is withdrawn. */
  close(): void;
}

export interface PrompterOptions {
  client: ApiClient;
  /** Ask at the terminal (else print how to answer, never block). */
  interactive: boolean;
  /** Print the lines of the non-interactive mode (false with `--json`: its event lines say it). */
  hints: boolean;
  out?: NodeJS.WriteStream;
  input?: NodeJS.ReadStream;
  /**
   * A readline interface the caller owns (the chat's): questions are asked on it, it is never
   * closed here, and its Ctrl-C stays the caller's. Without it, one is opened on `input` for the
   * time a request is asked.
   */
  readline?: Interface;
}

type Answer = { decision: ApprovalDecision; reason?: string; answer?: string };

const PERMISSION_KEYS: Record<string, ApprovalDecision> = { o: 'allow_once', s: 'allow_session', a: 'allow_always', d: 'deny' };

/**
 * A request as it is asked: the question and its numbered choices, the task waiting for a person,
 * or what the agent asks to run or reach; `notAsked`, indented below it, says why it is not asked here.
 */
function announceApproval(a: Approval, write: (line: string) => void, notAsked?: string): void {
  if (a.kind === 'question') {
    const { question, choices } = approvalQuestion(a);
    write(errStyle.bold(errStyle.yellow(`@${a.agentId} asks you: ${question}`)) + errStyle.dim(` (${a.id}, ${expiry(a, Date.now())})`));
    for (const [i, c] of choices.entries()) write(`  ${i + 1}) ${c}`);
  } else if (a.kind === 'task_rounds') {
    write(errStyle.bold(errStyle.yellow(`A task of @${a.agentId} waits for a person: ${a.summary}`)) + errStyle.dim(` (${a.id}, ${expiry(a, Date.now())})`));
  } else if (a.kind === 'workflow_budget') {
    write(errStyle.bold(errStyle.yellow(a.summary)) + errStyle.dim(` (${a.id}, ${expiry(a, Date.now())})`));
  } else {
    // An egress request's summary is `Connect to host:port`: `@coder asks to connect to host:port`.
    const what = a.kind === 'egress' ? `asks to ${a.summary.charAt(0).toLowerCase()}${a.summary.slice(1)}` : `asks to run ${a.summary}`;
    write(errStyle.bold(errStyle.yellow(`@${a.agentId} ${what}`)) + errStyle.dim(` (${a.id}, ${expiry(a, Date.now())})`));
  }
  if (notAsked !== undefined) write(`  ${notAsked}`);
}

/** Reads one line at the prompt; undefined when the prompt was withdrawn. */
type ReadLine = (prompt: string) => Promise<string | undefined>;

/** A question's answer: a choice's number, free text, or `/decline`. */
async function askAnswer(a: Approval, line: ReadLine): Promise<Answer | undefined> {
  const { choices } = approvalQuestion(a);
  const prompt = `${choices.length > 0 ? `[1-${choices.length}] or your answer` : 'Your answer'} (/decline to decline) ? `;
  for (;;) {
    const text = await line(prompt);
    if (text === undefined) return undefined;
    if (text === '') continue;
    if (text === '/decline') return { decision: 'deny' };
    const n = /^\d+$/.test(text) ? Number(text) : 0;
    if (n >= 1 && n <= choices.length) return { decision: 'answer', answer: choices[n - 1]! };
    return { decision: 'answer', answer: text };
  }
}

/** A permission's decision: once, session (not for a connection), always, or deny with an optional reason; asked again until it is one. */
async function askPermission(a: Approval, line: ReadLine, write: (line: string) => void): Promise<Answer | undefined> {
  const answers = approvalAnswers(a.kind);
  const session = answers.includes('allow_session');
  for (;;) {
    const text = await line(session ? '[o]nce / [s]ession / [a]lways / [d]eny (reason) ? ' : '[o]nce / [a]lways / [d]eny (reason) ? ');
    if (text === undefined) return undefined;
    const key = PERMISSION_KEYS[text.charAt(0).toLowerCase()];
    const decision = key && answers.includes(key) ? key : undefined;
    // `d`, `deny`, or `d <reason>`: the reason is asked when not given.
    if (decision === 'deny') {
      const given = text.replace(/^d(eny)?\b\s*/i, '');
      const reason = given !== '' ? given : await line('Reason (the agent reads it; Enter for none): ');
      if (reason === undefined) return undefined;
      return { decision, ...(reason ? { reason } : {}) };
    }
    if (decision && text.length === 1) return { decision };
    const word = { once: 'allow_once', session: 'allow_session', always: 'allow_always' }[text.toLowerCase()] as ApprovalDecision | undefined;
    if (word && answers.includes(word)) return { decision: word };
    write(errStyle.dim(session ? 'Type o, s, a or d (d can be followed by the reason).' : 'Type o, a or d (d can be followed by the reason); a connection has no session.'));
  }
}

/** `Left <id> unanswered: it still waits (…); answer with …`. */
function leftUnanswered(a: Approval): string {
  return `Left ${a.id} unanswered: it still waits (${expiry(a, Date.now())}); ${answerHint(a)}.`;
}

/** Ctrl-C at the prompt: the request is left waiting, said with how to answer it, and the wait stops with exit code 130, as Ctrl-C does elsewhere in `send --wait` (the work goes on in the daemon). */
function stopWaiting(waiting: Approval | undefined, write: (line: string) => void): never {
  write('');
  if (waiting) {
    write(errStyle.yellow(leftUnanswered(waiting)));
    write(errStyle.dim(`Stopped waiting for conversation ${waiting.conversationId}; follow it with \`tinyagi conversation show ${waiting.conversationId}\`.`));
  }
  process.exit(130);
}

/** The answer given here, sent as `by: 'cli'`; the decided request, or undefined when another answer was first (409 says by whom) or the daemon refused: said, never fatal. */
async function sendAnswer(client: ApiClient, a: Approval, answer: Answer, write: (line: string) => void): Promise<Approval | undefined> {
  try {
    const decided = await client.decideApproval({ params: { id: a.id }, body: { ...answer, by: 'cli' } });
    write(errStyle.green(describeApproval(decided)));
    return decided;
  } catch (err) {
    write(errStyle.red(isApiError(err, 'APPROVAL_DECIDED') ? (err as Error).message : `Could not answer ${a.id}: ${err instanceof Error ? err.message : String(err)}`));
    return undefined;
  }
}

export function createApprovalPrompter(options: PrompterOptions): ApprovalPrompter {
  const out = options.out ?? process.stderr;
  const write = (line: string): void => void out.write(`${line}\n`);
  const queue: Approval[] = [];
  const settled = new Map<string, Approval>();
  /** Requests whose answer from here is on its way: their `approval.decided` may come before the daemon's reply to it. */
  const answering = new Set<string>();
  let current: { approval: Approval; abort: AbortController } | undefined;
  let rl: Interface | undefined;
  let busy = false;
  let closed = false;
  /** The terminal's input ended (Ctrl-D): later requests are said, not asked. */
  let inputEnded = false;
  const lent = options.readline;
  const closeReadline = (): void => {
    const io = rl;
    rl = undefined;
    if (io !== lent) io?.close();
  };
  const onLentClose = (): void => {
    inputEnded = true;
    current?.abort.abort();
  };
  lent?.once('close', onLentClose);

  const readline = async (): Promise<Interface> => {
    if (rl) return rl;
    if (lent) {
      rl = lent;
      return lent;
    }
    // Loaded here: only a prompt needs readline.
    const { createInterface } = await import('node:readline/promises');
    const io = createInterface({ input: options.input ?? process.stdin, output: out, terminal: true });
    rl = io;
    io.on('close', () => {
      // Closed by the input's end, not by us (we drop `rl` first).
      if (rl !== io) return;
      rl = undefined;
      inputEnded = true;
      current?.abort.abort();
    });
    io.on('SIGINT', () => {
      const waiting = current?.approval;
      closeReadline();
      stopWaiting(waiting, write);
    });
    return rl;
  };

  const ask = async (a: Approval, signal: AbortSignal): Promise<Answer | undefined> => {
    const io = await readline();
    const line: ReadLine = async (prompt) => {
      try {
        return (await io.question(prompt, { signal })).trim();
      } catch (err) {
        if (signal.aborted) return undefined;
        throw err;
      }
    };
    return a.kind === 'question' ? askAnswer(a, line) : askPermission(a, line, write);
  };

  const next = async (): Promise<void> => {
    if (busy || closed) return;
    busy = true;
    try {
      for (let a = queue.shift(); a !== undefined && !closed; a = queue.shift()) {
        if (settled.has(a.id)) continue;
        if (inputEnded) {
          announceApproval(a, write, `The terminal's input ended, so not asked here: ${answerHint(a)}.`);
          continue;
        }
        const abort = new AbortController();
        current = { approval: a, abort };
        announceApproval(a, write);
        const answer = await ask(a, abort.signal).catch(() => undefined);
        current = undefined;
        if (answer === undefined) {
          // Withdrawn (answered elsewhere, expired, the wait ended), or the input ended: then said how to answer.
          if (inputEnded && !settled.has(a.id)) write(`\n  The terminal's input ended: ${a.id} still waits; ${answerHint(a)}.`);
          continue;
        }
        answering.add(a.id);
        try {
          const decided = await sendAnswer(options.client, a, answer, write);
          if (decided) settled.set(a.id, decided);
        } finally {
          answering.delete(a.id);
        }
      }
    } finally {
      busy = false;
      if (queue.length === 0) closeReadline();
    }
  };

  return {
    onEvent(event) {
      if (event.type !== 'approval.requested' && event.type !== 'approval.decided' && event.type !== 'approval.expired') return;
      const a = event.data.approval;
      if (event.type === 'approval.requested') {
        if (settled.has(a.id) || queue.some((q) => q.id === a.id) || current?.approval.id === a.id) return;
        // A task's rounds (task_rounds) and a workflow run's budget are not this conversation's to answer in the middle of a wait: said, with how to answer.
        const runLess = a.kind === 'task_rounds' || a.kind === 'workflow_budget';
        if (!options.interactive || runLess) {
          if (options.hints || runLess) announceApproval(a, write, `${runLess ? 'Not asked here' : 'Not a terminal, so not asked here'}: ${answerHint(a)}.`);
          return;
        }
        queue.push(a);
        void next();
        return;
      }
      const mine = settled.get(a.id);
      settled.set(a.id, a);
      // Our own answer: said once, with the daemon's reply (or its refusal, when another answer was first).
      if (mine || answering.has(a.id)) return;
      const index = queue.findIndex((q) => q.id === a.id);
      if (index >= 0) queue.splice(index, 1);
      if (current?.approval.id === a.id) {
        current.abort.abort();
        write('');
        write(errStyle.yellow(settledElsewhere(a)));
      } else if (options.hints || options.interactive) {
        write(errStyle.dim(`${a.id}: ${settledElsewhere(a)}`));
      }
    },
    print(line) {
      if (!rl || !current) return void write(line);
      clearLine(out, 0);
      cursorTo(out, 0);
      write(line);
      rl.prompt(true);
    },
    close() {
      closed = true;
      queue.length = 0;
      const open = current?.approval;
      current?.abort.abort();
      // The wait ended (Ctrl-C in the chat, a timeout) with a request still asked: it waits on in the daemon.
      if (open && !settled.has(open.id)) write(errStyle.yellow(`\n${leftUnanswered(open)}`));
      closeReadline();
      lent?.off('close', onLentClose);
    },
  };
}
