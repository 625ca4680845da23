/**
 * The dashboard's workflow runs (docs/workflows.md), pure: the `workflow.changed` and
 * `workflow.step` events, the list the daemon gives at start (GET /api/workflows/runs) and the runs
 * read one by one (GET /api/workflows/runs/:id) in, the runs list and the selected run's steps out.
 * The source does the reading.
 *
 * A run's step counts are made of the steps it knows by id (an event or a read named them, so an
 * event about a step already counted moves it rather than adding it twice) and `unnamed`: steps a
 * list counted without naming them, or more than a run keeps by id. A read is the truth, except that
 * a step known as completed stays so (it never runs again; a read answered before its event is
 * older than the event).
 */
import type { EventPayload, WorkflowRun, WorkflowRunDetail, WorkflowRunStatus, WorkflowStep, WorkflowStepStatus } from '@tinyagi/client';

export const WORKFLOW_LIMITS = {
  /** Runs kept: the newest, the ended ones dropped first. */
  runs: 50,
  /** Steps a run knows by id; more are only counted. */
  stepsPerRun: 1000,
} as const;

export interface StepMark {
  status: WorkflowStepStatus;
  costUsd: number;
  tokens: number;
}

export interface StepCounts {
  running: number;
  completed: number;
  failed: number;
  costUsd: number;
  tokens: number;
}

export interface WorkflowRunRow {
  id: string;
  /** Empty until the daemon says it (a step's event names only the run's id). */
  name: string;
  status: WorkflowRunStatus;
  /** Why it paused, failed or was cancelled. */
  reason: string | null;
  createdAt: number;
  /** Its steps by id (at most WORKFLOW_LIMITS.stepsPerRun), as the events and reads said them. */
  steps: Record<string, StepMark>;
  /** Steps counted without their ids. */
  unnamed: StepCounts;
  /** The daemon described it (a list or a read), not only a step's event: its name and start are its own. */
  described: boolean;
}

export interface WorkflowsState {
  /** Newest first. */
  runs: WorkflowRunRow[];
  /** The Workflows panel (key `w`) and the run chosen in it (null: the newest). */
  panel: { open: boolean; runId: string | null };
  /** The selected run as last read, with its steps, and the step events since applied (the source reads it while the panel is open). */
  detail?: WorkflowRunDetail;
}

export function initialWorkflows(): WorkflowsState {
  return { runs: [], panel: { open: false, runId: null } };
}

const noCounts = (): StepCounts => ({ running: 0, completed: 0, failed: 0, costUsd: 0, tokens: 0 });

/** A run's steps: how many, in each state, and their spend. */
export function stepCounts(row: WorkflowRunRow): StepCounts & { total: number } {
  const c = { ...row.unnamed };
  for (const mark of Object.values(row.steps)) {
    c[mark.status] += 1;
    c.costUsd += mark.costUsd;
    c.tokens += mark.tokens;
  }
  return { ...c, total: c.running + c.completed + c.failed };
}

export const workflowRunning = (ws: WorkflowsState): number => ws.runs.filter((r) => r.status === 'running').length;

/** The run the panel shows: the chosen one, else the newest. */
export function selectedWorkflowRun(ws: WorkflowsState): WorkflowRunRow | undefined {
  return (ws.panel.runId === null ? undefined : ws.runs.find((r) => r.id === ws.panel.runId)) ?? ws.runs[0];
}

const ENDED: ReadonlySet<WorkflowRunStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Applies `update` to a run (made when new), keeps the list newest first and bounded (an ended run goes first). */
function withRun(ws: WorkflowsState, id: string, seed: () => WorkflowRunRow, update: (row: WorkflowRunRow) => WorkflowRunRow): WorkflowsState {
  const current = ws.runs.find((r) => r.id === id);
  const updated = update(current ?? seed());
  let runs = [updated, ...ws.runs.filter((r) => r.id !== id)].sort((a, b) => b.createdAt - a.createdAt);
  if (runs.length > WORKFLOW_LIMITS.runs) {
    const drop = runs.findLast((r) => ENDED.has(r.status)) ?? runs.at(-1)!;
    runs = runs.filter((r) => r !== drop);
  }
  return { ...ws, runs };
}

const placeholder = (id: string, ts: number, status: WorkflowRunStatus = 'running', name = ''): WorkflowRunRow => ({
  id,
  name,
  status,
  reason: null,
  createdAt: ts,
  steps: {},
  unnamed: noCounts(),
  described: false,
});

/** `workflow.changed`: the run's state (a new run starts its row). */
export function withWorkflowChanged(ws: WorkflowsState, data: EventPayload<'workflow.changed'>, ts: number): WorkflowsState {
  const next = withRun(
    ws,
    data.runId,
    () => placeholder(data.runId, ts, data.status, data.name),
    (row) => ({ ...row, name: data.name, status: data.status, reason: data.reason ?? null }),
  );
  const detail = next.detail;
  if (detail?.run.id !== data.runId) return next;
  return { ...next, detail: { ...detail, run: { ...detail.run, status: data.status, reason: data.reason ?? null } } };
}

/** `workflow.step`: a step started or ended; counted once by its id, and patched into the selected run's steps. */
export function withWorkflowStep(ws: WorkflowsState, data: EventPayload<'workflow.step'>, ts: number): WorkflowsState {
  const mark: StepMark = { status: data.status, costUsd: data.costUsd, tokens: data.tokens };
  const next = withRun(
    ws,
    data.runId,
    () => placeholder(data.runId, ts),
    (row) => withStepMark(row, data.stepId, mark),
  );
  const detail = next.detail;
  if (detail?.run.id !== data.runId || !detail.steps.some((s) => s.stepId === data.stepId)) return next;
  const patch = (s: WorkflowStep): WorkflowStep => (s.stepId === data.stepId ? { ...s, ...mark, error: data.error ?? null } : s);
  return { ...next, detail: { ...detail, steps: detail.steps.map(patch) } };
}

function withStepMark(row: WorkflowRunRow, stepId: string, mark: StepMark): WorkflowRunRow {
  if (row.steps[stepId]) return { ...row, steps: { ...row.steps, [stepId]: mark } };
  const unnamed = { ...row.unnamed };
  // A step that ends without having been named here is one of the running steps a list counted.
  if (mark.status !== 'running' && unnamed.running > 0) unnamed.running -= 1;
  if (Object.keys(row.steps).length < WORKFLOW_LIMITS.stepsPerRun) return { ...row, unnamed, steps: { ...row.steps, [stepId]: mark } };
  unnamed[mark.status] += 1;
  unnamed.costUsd += mark.costUsd;
  unnamed.tokens += mark.tokens;
  return { ...row, unnamed };
}

const described = (row: WorkflowRunRow, run: WorkflowRun): WorkflowRunRow => ({ ...row, name: run.name, status: run.status, reason: run.reason, createdAt: run.createdAt, described: true });

/** The daemon's list (at start, after a reconnect): new runs with their counts; a run the events or a read built keeps what it knows. */
export function withWorkflowList(ws: WorkflowsState, list: readonly WorkflowRun[]): WorkflowsState {
  let next = ws;
  for (const run of list) {
    next = withRun(
      next,
      run.id,
      () => placeholder(run.id, run.createdAt),
      (row) => {
        if (row.described) return row;
        const named = described(row, run);
        if (Object.keys(row.steps).length > 0) return named;
        const { running, completed, failed } = run.steps;
        return { ...named, unnamed: { running, completed, failed, costUsd: run.costUsd, tokens: run.tokens } };
      },
    );
  }
  return next;
}

/** One run read with its steps: the truth about it (a completed step stays completed); the panel's steps when it is the selected run. */
export function withWorkflowRead(ws: WorkflowsState, read: WorkflowRunDetail): WorkflowsState {
  const next = withRun(
    ws,
    read.run.id,
    () => placeholder(read.run.id, read.run.createdAt),
    (row) => {
      const steps: Record<string, StepMark> = { ...row.steps };
      const unnamed = noCounts();
      for (const s of read.steps) {
        const known = steps[s.stepId];
        if (known?.status === 'completed') continue;
        const mark: StepMark = { status: s.status, costUsd: s.costUsd, tokens: s.tokens };
        if (known || Object.keys(steps).length < WORKFLOW_LIMITS.stepsPerRun) steps[s.stepId] = mark;
        else {
          unnamed[s.status] += 1;
          unnamed.costUsd += s.costUsd;
          unnamed.tokens += s.tokens;
        }
      }
      return { ...described(row, read.run), steps, unnamed };
    },
  );
  if (selectedWorkflowRun(next)?.id !== read.run.id) return next;
  // Steps the events said since the read was answered keep what they said.
  const marks = next.runs.find((r) => r.id === read.run.id)!.steps;
  const steps = read.steps.map((s) => (marks[s.stepId]?.status === 'completed' && s.status !== 'completed' ? { ...s, ...marks[s.stepId]! } : s));
  return { ...next, detail: { run: read.run, steps } };
}

/** Opens or closes the panel; opening keeps the run shown then chosen, so a newer run does not move the view. */
export function toggleWorkflows(ws: WorkflowsState, open: boolean): WorkflowsState {
  if (!open) return { ...ws, panel: { open: false, runId: ws.panel.runId } };
  return { ...ws, panel: { open: true, runId: selectedWorkflowRun(ws)?.id ?? null } };
}

/** The next or previous run in the list (newest first). */
export function cycleWorkflowRun(ws: WorkflowsState, step: 1 | -1): WorkflowsState {
  const n = ws.runs.length;
  if (n === 0) return ws;
  const at = Math.max(0, ws.runs.indexOf(selectedWorkflowRun(ws)!));
  const { detail: _shown, ...rest } = ws;
  const runId = ws.runs[(at + step + n) % n]!.id;
  // The steps shown are the selected run's only: another run's wait for its read.
  return { ...(ws.detail?.run.id === runId ? ws : rest), panel: { open: ws.panel.open, runId } };
}
