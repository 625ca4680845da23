/**
 * The dashboard component: paints the layout of the store's state and turns keys into actions.
 * It owns no data: the store is fed by the source (or by a test), and key actions that reach the
 * daemon go through `actions` (cancel, pause/resume), whose answer is shown as a notice.
 */
import { createElement as h, Fragment, useEffect, useState, useSyncExternalStore, type ReactElement } from 'react';
import { useApp, useInput, useStdin } from 'ink';
import { approvalAnswers, approvalQuestion, type ApprovalDecisionBody } from '@tinyagi/client';
import { layout } from './layout.ts';
import { paintLines } from './paint.ts';
import { selectedApproval, selectedRun, type Action, type DashboardState } from './state.ts';
import type { Store } from './store.ts';
import { useTerminalSize } from './terminal-size.ts';

export type DashboardStore = Store<DashboardState, Action>;

export interface DashboardActions {
  cancelRun(runId: string): Promise<string>;
  steerRun(runId: string, command: 'pause' | 'resume'): Promise<string>;
  /** Answers an approval request (as `tui`); resolves with what was decided, in words. */
  decideApproval?(id: string, body: Omit<ApprovalDecisionBody, 'by'>): Promise<string>;
}

export interface DashboardProps {
  store: DashboardStore;
  actions?: DashboardActions;
  /** Defaults to the terminal's size (80x24 when unknown). */
  width?: number;
  height?: number;
  /** A fixed clock (tests); defaults to the real one, ticking once a second. */
  now?: number;
  color?: boolean;
  onQuit?: () => void;
}

function useClock(fixed?: number): number {
  const [now, setNow] = useState(() => fixed ?? Date.now());
  useEffect(() => {
    if (fixed !== undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    timer.unref?.();
    return () => clearInterval(timer);
  }, [fixed]);
  return fixed ?? now;
}

/** Keys, mounted only where raw mode exists (a TTY); elsewhere the dashboard just displays. */
function DashboardKeys({ store, actions, onQuit }: Pick<DashboardProps, 'store' | 'actions' | 'onQuit'>): null {
  const { exit } = useApp();
  const quit = (): void => {
    onQuit?.();
    exit();
  };
  const act = (what: string, call: (runId: string) => Promise<string>): void => {
    const run = selectedRun(store.getState());
    if (!run) {
      store.dispatch({ type: 'notice', text: `No run to ${what}.`, level: 'error' });
      return;
    }
    if (!actions) {
      store.dispatch({ type: 'notice', text: `Cannot ${what} from here.`, level: 'error' });
      return;
    }
    call(run.runId).then(
      (text) => store.dispatch({ type: 'notice', text, level: 'info' }),
      (err: unknown) => store.dispatch({ type: 'notice', text: `Could not ${what} ${run.runId}: ${err instanceof Error ? err.message : String(err)}`, level: 'error' }),
    );
  };
  const decide = (body: Omit<ApprovalDecisionBody, 'by'>): void => {
    const approval = selectedApproval(store.getState());
    if (!approval) return;
    if (!actions?.decideApproval) {
      store.dispatch({ type: 'notice', text: 'Cannot answer approvals from here.', level: 'error' });
      return;
    }
    actions.decideApproval(approval.id, body).then(
      (text) => store.dispatch({ type: 'notice', text, level: 'info' }),
      (err: unknown) => store.dispatch({ type: 'notice', text: `Could not answer ${approval.id}: ${err instanceof Error ? err.message : String(err)}`, level: 'error' }),
    );
  };
  /** The approvals panel's keys (docs/approvals.md, "From the TUI"); true when the key was theirs. */
  const approvalKey = (input: string, key: Parameters<Parameters<typeof useInput>[0]>[1]): boolean => {
    const state = store.getState();
    const panel = state.approvalsPanel;
    const handled = (action: Action | undefined, body?: Omit<ApprovalDecisionBody, 'by'>): true => {
      if (action) store.dispatch(action);
      if (body) decide(body);
      return true;
    };
    if (panel.input) {
      const typing = panel.input;
      if (key.escape) store.dispatch({ type: 'approval-input', input: undefined });
      else if (key.return) {
        const text = typing.text.trim();
        if (typing.mode === 'answer' && text === '') return true;
        store.dispatch({ type: 'approval-input', input: undefined });
        decide(typing.mode === 'answer' ? { decision: 'answer', answer: text } : { decision: 'deny', ...(text ? { reason: text } : {}) });
      } else if (key.backspace || key.delete) store.dispatch({ type: 'approval-input', input: { ...typing, text: typing.text.slice(0, -1) } });
      else if (input && !key.ctrl && !key.meta) store.dispatch({ type: 'approval-input', input: { ...typing, text: typing.text + input } });
      return true;
    }
    if (!panel.open) return false;
    if (key.escape || input === 'q') return handled({ type: 'toggle-approvals', open: false });
    if (key.upArrow || input === 'k') return handled({ type: 'cycle-approval', step: -1 });
    if (key.downArrow || input === 'j') return handled({ type: 'cycle-approval', step: 1 });
    const approval = selectedApproval(state);
    if (!approval) return input !== '?' && input !== 'h';
    // A task's rounds (task_rounds): m another N rounds (the project's default), t take over, x stop.
    if (approval.kind === 'task_rounds') {
      const answer = ({ m: 'more_rounds', t: 'take_over', x: 'stop' } as const)[input as 'm' | 't' | 'x'];
      if (answer) decide({ decision: answer });
      return input !== '?' && input !== 'h';
    }
    // A workflow run's budget (workflow_budget): r the same again, x stop the run.
    if (approval.kind === 'workflow_budget') {
      const answer = ({ r: 'raise_budget', x: 'stop' } as const)[input as 'r' | 'x'];
      if (answer) decide({ decision: answer });
      return input !== '?' && input !== 'h';
    }
    if (input === 'd') return handled({ type: 'approval-input', input: { id: approval.id, mode: 'reason', text: '' } });
    if (approval.kind === 'question') {
      const choices = approvalQuestion(approval).choices;
      const n = /^[1-9]$/.test(input) ? Number(input) : 0;
      if (n >= 1 && n <= choices.length) return handled(undefined, { decision: 'answer', answer: choices[n - 1]! });
      if (key.return || input === 'i') return handled({ type: 'approval-input', input: { id: approval.id, mode: 'answer', text: '' } });
      return input !== '?' && input !== 'h';
    }
    const decision = ({ o: 'allow_once', s: 'allow_session', A: 'allow_always' } as const)[input as 'o' | 's' | 'A'];
    // A connection (egress) takes no session answer: `s` does nothing there.
    if (decision && approvalAnswers(approval.kind).includes(decision)) decide({ decision });
    return input !== '?' && input !== 'h';
  };
  /** The Workflows panel's keys: ↑/↓ (or k/j) pick a run, Esc, q or w close it; true when the key was theirs (a and help pass). */
  const workflowKey = (input: string, key: Parameters<Parameters<typeof useInput>[0]>[1]): boolean => {
    const state = store.getState();
    // The help drawn over the panel takes the keys until it closes.
    if (!state.workflows.panel.open || state.help) return false;
    if (key.escape || input === 'q' || input === 'w') store.dispatch({ type: 'toggle-workflows', open: false });
    else if (key.upArrow || input === 'k') store.dispatch({ type: 'cycle-workflow-run', step: -1 });
    else if (key.downArrow || input === 'j') store.dispatch({ type: 'cycle-workflow-run', step: 1 });
    else return input !== '?' && input !== 'h' && input !== 'a';
    return true;
  };
  useInput((input, key) => {
    const state = store.getState();
    if (key.ctrl && input === 'c') return quit();
    if (approvalKey(input, key) || workflowKey(input, key)) return;
    if (key.escape) return state.help ? store.dispatch({ type: 'toggle-help', open: false }) : quit();
    if (key.ctrl && input === 'c') return quit();
    switch (input) {
      case 'q':
        return quit();
      case '?':
      case 'h':
        return store.dispatch({ type: 'toggle-help' });
      case 'a':
        return store.dispatch({ type: 'toggle-approvals', open: true });
      case 'w':
        return store.dispatch({ type: 'toggle-workflows', open: true });
      case 't':
      case 'T':
        return store.dispatch({ type: 'cycle-team', step: input === 't' ? 1 : -1 });
      case 'c':
      case 'C':
        return store.dispatch({ type: 'cycle-conversation', step: input === 'c' ? 1 : -1 });
      case 'r':
      case 'R':
        return store.dispatch({ type: 'cycle-run', step: input === 'r' ? 1 : -1 });
      case 'x':
        return act('cancel', (runId) => actions!.cancelRun(runId));
      case 'p': {
        const run = selectedRun(state);
        return act(run?.status === 'paused' ? 'resume' : 'pause', (runId) => actions!.steerRun(runId, run?.status === 'paused' ? 'resume' : 'pause'));
      }
    }
  });
  return null;
}

export function Dashboard(props: DashboardProps): ReactElement {
  const state = useSyncExternalStore(props.store.subscribe, props.store.getState);
  const size = useTerminalSize(props.width, props.height);
  const now = useClock(props.now);
  const { isRawModeSupported } = useStdin();
  const screen = paintLines(layout(state, { ...size, now }), props.color ?? true, size.width);
  return isRawModeSupported
    ? h(Fragment, null, screen, h(DashboardKeys, { store: props.store, ...(props.actions ? { actions: props.actions } : {}), ...(props.onQuit ? { onQuit: props.onQuit } : {}) }))
    : screen;
}
