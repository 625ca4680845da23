/**
 * The sandbox's vocabulary, loading nothing (docs/sandbox.md, "Interfaces between the parts"):
 * an agent's sandbox as its settings say it, the ports inside every sandbox, and where an
 * agent's sockets and private home are. The boundary (boundary.ts), the model proxy and the egress
 * proxy share it.
 */
import { join } from 'node:path';

/** The model proxy's port inside every sandbox (bridged to `model.sock`). */
export const MODEL_PORT = 45801;
/** The egress proxy's port inside every sandbox (bridged to `egress.sock`); HTTP(S)_PROXY name it. */
export const EGRESS_PORT = 45802;
/** `sandbox.memory_mb` when the settings do not name one. */
export const DEFAULT_SANDBOX_MEMORY_MB = 4096;

/** The sandbox of one agent as its settings say (the invoker's target carries it). */
export interface SandboxSpec {
  /** `on`: enforced when the machine allows it, else unconfined (its status says so); `required`: not run unless enforced. */
  mode: 'on' | 'required';
  /** The TinyAGI home: hidden; the agent's private home and sockets are under it. */
  tinyHome: string;
  /** The workspace root (every agent's workspace): hidden, the agent's own bound again. */
  workspaceRoot: string;
  /** The agent's memory cap in MB. */
  memoryMb: number;
}

/** Where an agent's sandbox sockets are: `model.sock`, `egress.sock`, and the daemon's bridges `tcp-<port>.sock`. */
export function sandboxRunDir(tinyHome: string, agentId: string): string {
  return join(tinyHome, 'run', 'sandbox', agentId);
}

/** The agent's private home (HOME inside its sandbox, at the same path outside). */
export function sandboxHomeDir(tinyHome: string, agentId: string): string {
  return join(tinyHome, 'agent-homes', agentId);
}
