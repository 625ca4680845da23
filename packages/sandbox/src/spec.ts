/**
 * The sandbox's vocabulary, loading nothing (docs/sandbox-design.md, "Interfaces between the parts"):
 * an agent's sandbox as its settings say it, the ports inside every sandbox, and where an
 * agent's sockets and private home are. The boundary (boundary.ts), the model proxy and the egress
 * proxy share it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
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
  /**
   * Values that never enter the sandbox (withheld.ts): the providers' keys and tokens the daemon
   * knows (its settings, its environment, what the user's CLI configs name), and the key the
   * model proxy carries for this run.
   */
  withheld?: readonly string[];
}

/** The longest Unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;
/** The longest socket name under a run folder: a bridge's `tcp-65535.sock`, an inbound `in/65535.sock`. */
const LONGEST_SOCKET = '/tcp-65535.sock';
/** Where run folders go when the TinyAGI home's are too long for a socket: short, the account's own (checked as it is made). */
const SHORT_RUN_ROOT = '/tmp';

/** Where an agent's sandbox sockets are: `model.sock`, `egress.sock`, and the daemon's bridges `tcp-<port>.sock`. */
export function sandboxRunDir(tinyHome: string, agentId: string): string {
  return runDirIn(join(tinyHome, 'run', 'sandbox'), agentId);
}

/**
 * The agent's run folder under `root` (`<TINYAGI_HOME>/run/sandbox`): `<root>/<agent>` while its
 * longest socket path fits a Unix socket's 107 bytes; else a fixed-length name derived from both,
 * `<root>/~<hash>`, or, when `root` itself is too long, `/tmp/tinyagi-<uid>/<hash>` (a folder of
 * the account's own, 0700, made by `makeRunDir`). Every part that makes or reaches a socket asks here.
 */
export function runDirIn(root: string, agentId: string): string {
  const fits = (dir: string): boolean => Buffer.byteLength(dir + LONGEST_SOCKET) <= MAX_SOCKET_PATH;
  const direct = join(root, agentId);
  if (fits(direct)) return direct;
  const hash = createHash('sha256').update(`${root}\0${agentId}`).digest('hex').slice(0, 16);
  const hashed = join(root, `~${hash}`);
  return fits(hashed) ? hashed : join(shortRunRoot(), hash);
}

function shortRunRoot(): string {
  return join(SHORT_RUN_ROOT, `tinyagi-${process.getuid?.() ?? 'user'}`);
}

/**
 * Makes an agent's run folder (0700). Under the short root the root must be this account's own
 * folder, not a link and open to no one else: anything else (a folder another account planted in
 * /tmp) is refused, never used.
 */
export function makeRunDir(dir: string): void {
  const short = shortRunRoot();
  if (dir.startsWith(`${short}/`)) {
    mkdirSync(short, { recursive: true, mode: 0o700 });
    const stat = lstatSync(short);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o077) !== 0) {
      throw new Error(`${short} is not a folder of this account's own (mode 0700): the sandbox's sockets cannot go there. Remove it, or use a shorter TINYAGI_HOME.`);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** The agent's private home (HOME inside its sandbox, at the same path outside). */
export function sandboxHomeDir(tinyHome: string, agentId: string): string {
  return join(tinyHome, 'agent-homes', agentId);
}
