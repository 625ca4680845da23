/**
 * The daemon's nodes (GET /api/status `nodes`; empty on SQLite, one process), kept in the store's
 * status. Node heartbeats are not events, so while a page that shows them is open they are read
 * again every 10 s.
 */
import { useEffect } from 'react';
import type { NodeStatus } from '@tinyagi/client';
import { api } from '@/lib/api';
import { setState, useStore } from '@/lib/store';

const NODES_REFRESH_MS = 10_000;
const NO_NODES: NodeStatus[] = [];

/** The nodes, read now and every 10 s while `active` (a page that names no node asks nothing). */
export function useNodes(active = true): NodeStatus[] {
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const load = () =>
      api()
        .status()
        .then(({ nodes }) => {
          if (!stopped) setState((s) => (s.status ? { status: { ...s.status, nodes } } : {}));
        })
        .catch(() => {});
    const timer = setInterval(load, NODES_REFRESH_MS);
    void load();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [active]);
  return useStore((s) => s.status?.nodes ?? NO_NODES);
}
