/**
 * The workflow runs the page shows, kept live: the list once (newest first), then each run that a
 * `workflow.changed` or `workflow.step` event names is read again (`GET /api/workflows/runs/:id`,
 * its steps with it), one request per run at a time (events during one ask for one more after
 * it). The selected run's steps come from the same read.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { isApiError, type WorkflowRun, type WorkflowRunDetail } from '@tinyagi/client';
import { api } from '@/lib/api';
import { refusalText } from '@/lib/refusal';
import { useLiveEvents } from '@/lib/use-events';

const LIST_LIMIT = 200;

export interface WorkflowRuns {
  /** Newest first; null while loading. */
  runs: WorkflowRun[] | null;
  /** The selected run with its steps; null while loading or when none is selected. */
  detail: WorkflowRunDetail | null;
  /** Why the selected run could not be read (`WORKFLOW_NOT_FOUND: …`). */
  detailError: string | null;
  error: string | null;
  /** A run as an action's answer gave it (cancel, resume): shown at once, its steps read again. */
  applyRun: (run: WorkflowRun) => void;
}

export function useWorkflowRuns(selected: string | null): WorkflowRuns {
  const [runs, setRuns] = useState<WorkflowRun[] | null>(null);
  const [detail, setDetail] = useState<WorkflowRunDetail | null>(null);
  const [detailError, setDetailError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

  useEffect(() => {
    api()
      .listWorkflowRuns({ query: { limit: LIST_LIMIT } })
      .then(({ runs }) => {
        // Runs an event had read meanwhile stay unless the list's copy is newer.
        setRuns((seen) => runs.reduce(withRun, seen ?? []));
        setError(null);
      })
      .catch((err: unknown) => setError(refusalText(err)));
  }, []);

  const reading = useRef(new Map<string, 'busy' | 'again'>());
  const refresh = useCallback(function read(id: string): void {
    const state = reading.current.get(id);
    if (state !== undefined) {
      reading.current.set(id, 'again');
      return;
    }
    reading.current.set(id, 'busy');
    api()
      .getWorkflowRun({ params: { id } })
      .then((found) => {
        setRuns((list) => withRun(list ?? [], found.run));
        if (selectedRef.current === id) {
          setDetail(found);
          setDetailError(null);
        }
      })
      .catch((err: unknown) => {
        if (selectedRef.current === id) setDetailError(refusalText(err));
        else if (!isApiError(err, 'WORKFLOW_NOT_FOUND')) setError(`Run ${id} could not be read again, so the list may be out of date: ${refusalText(err)}`);
      })
      .finally(() => {
        const again = reading.current.get(id) === 'again';
        reading.current.delete(id);
        if (again) read(id);
      });
  }, []);

  useEffect(() => {
    setDetail(null);
    setDetailError(null);
    if (selected) refresh(selected);
  }, [selected, refresh]);

  useLiveEvents((events) => {
    const changed = new Set<string>();
    for (const e of events) if (e.type === 'workflow.changed' || e.type === 'workflow.step') changed.add(e.data.runId);
    for (const id of changed) refresh(id);
  });

  const applyRun = useCallback(
    (run: WorkflowRun) => {
      setRuns((list) => withRun(list ?? [], run));
      setDetail((d) => (d?.run.id === run.id ? { ...d, run } : d));
      refresh(run.id);
    },
    [refresh],
  );

  return { runs, detail, detailError, error, applyRun };
}

/** The list with `run` in it (replacing its copy unless that copy is newer), newest first. */
function withRun(list: readonly WorkflowRun[], run: WorkflowRun): WorkflowRun[] {
  const known = list.find((r) => r.id === run.id);
  if (known && known.updatedAt > run.updatedAt) return list as WorkflowRun[];
  return [...list.filter((r) => r !== known), run].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}
