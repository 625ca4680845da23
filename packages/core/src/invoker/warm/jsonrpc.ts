/**
 * JSON-RPC 2.0 over newline-delimited JSON on a warm process's stdio, both ways: Codex's
 * app-server and ACP agents answer our requests, send notifications (streamed items, session
 * updates) and send requests of their own (approvals, permission requests, file reads) that we
 * answer. One message per line; ids of our requests are integers counting up.
 *
 * Codex's app-server omits the `"jsonrpc": "2.0"` member on the wire; ACP sends it. Both are
 * read, and `jsonrpcField` says what we write.
 */
import { InvokeError } from '../invoke-error.ts';
import { parseJsonRecord, type JsonRecord } from '../json-read.ts';

export type JsonRpcId = number | string;

/** An error answer (`{ code, message, data }`) from the other side. */
export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'JsonRpcError';
    this.code = code;
    this.data = data;
  }
}

/** Standard codes for answering the other side's requests. */
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;
const JSONRPC_INTERNAL_ERROR = -32603;

export type RequestHandler = (method: string, params: unknown) => Promise<unknown>;
export type NotificationHandler = (method: string, params: unknown) => void;

export interface JsonRpcPeerOptions {
  /** Writes one line to the process; false when it is gone. */
  write: (line: string) => boolean;
  /** Answers the other side's requests; throw a JsonRpcError to answer with an error. */
  onRequest: RequestHandler;
  onNotification: NotificationHandler;
  /** Write `"jsonrpc": "2.0"` in our messages (ACP: yes; Codex app-server: no). Default true. */
  jsonrpcField?: boolean;
  /** For messages. */
  what: string;
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export class JsonRpcPeer {
  readonly #opts: JsonRpcPeerOptions;
  readonly #pending = new Map<JsonRpcId, Pending>();
  #nextId = 1;
  #closed: Error | undefined;

  constructor(opts: JsonRpcPeerOptions) {
    this.#opts = opts;
  }

  /**
   * Sends a request; settles with the answer, or rejects (JsonRpcError, or the process closed).
   * `envelope`: members written beside `id`, `method` and `params` (Codex's app-server reads a
   * request's W3C trace context from `trace`).
   */
  request<T = unknown>(method: string, params?: unknown, envelope?: JsonRecord): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject });
      if (!this.#send({ ...envelope, id, method, ...(params === undefined ? {} : { params }) })) {
        this.#pending.delete(id);
        reject(this.#gone());
      }
    });
  }

  notify(method: string, params?: unknown): boolean {
    if (this.#closed) return false;
    return this.#send({ method, ...(params === undefined ? {} : { params }) });
  }

  /** Hands one line from the process to the peer. Lines that are not JSON-RPC messages are ignored (returns false). */
  handleLine(line: string): boolean {
    const msg = parseJsonRecord(line);
    if (!msg) return false;
    const id = msg.id as JsonRpcId | undefined;
    const hasId = typeof id === 'number' || typeof id === 'string';
    if (typeof msg.method === 'string') {
      if (hasId) void this.#answer(id, msg.method, msg.params);
      else this.#opts.onNotification(msg.method, msg.params);
      return true;
    }
    if (!hasId) return false;
    const pending = this.#pending.get(id);
    if (!pending) return true; // an answer to a request we gave up on
    this.#pending.delete(id);
    const error = msg.error as JsonRecord | undefined;
    if (error && typeof error === 'object') {
      pending.reject(new JsonRpcError(typeof error.code === 'number' ? error.code : JSONRPC_INTERNAL_ERROR, `${pending.method}: ${String(error.message ?? 'error')}`, error.data));
    } else {
      pending.resolve(msg.result);
    }
    return true;
  }

  /** The process ended: every request still waiting rejects with `reason`. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = new InvokeError('retryable', `${this.#opts.what}: ${reason}`);
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(this.#closed);
    }
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  async #answer(id: JsonRpcId, method: string, params: unknown): Promise<void> {
    try {
      const result = await this.#opts.onRequest(method, params);
      this.#send({ id, result: result ?? null });
    } catch (err) {
      const e = err instanceof JsonRpcError ? err : new JsonRpcError(JSONRPC_INTERNAL_ERROR, err instanceof Error ? err.message : String(err));
      this.#send({ id, error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } });
    }
  }

  #send(body: JsonRecord): boolean {
    const msg = this.#opts.jsonrpcField === false ? body : { jsonrpc: '2.0', ...body };
    return this.#opts.write(JSON.stringify(msg));
  }

  #gone(): Error {
    return this.#closed ?? new InvokeError('retryable', `${this.#opts.what}: the process is gone`);
  }
}
