/**
 * The daemon as a list of services (run.ts): each starts and stops itself.
 *
 * Contract:
 * - `ServiceStack.start(service)` starts one service and returns what its start gives (the
 *   stores, the server, …) for the services after it: services start in the order the daemon
 *   asks for them.
 * - A start that fails is logged naming the service, stops every service started before it,
 *   newest first, and throws the service's own error (what the operator sees: the cause and its
 *   hint, e.g. the PostgreSQL server that cannot be reached).
 * - `stopAll()` stops the started services in reverse order; a stop that fails is logged and the
 *   others still stop. Called once; a second call does nothing.
 */
import { errorMessage } from '@tinyagi/core';

export interface Service<T = void> {
  readonly name: string;
  start(): T | Promise<T>;
  /** Releases what start took; called once, only after a successful start. */
  stop?(): unknown;
}

/** A service that opens something and closes what it opened (stores, a lock, a membership). */
export function resource<T>(name: string, open: () => T | Promise<T>, close: (opened: T) => unknown): Service<T> {
  let opened: { value: T } | undefined;
  return {
    name,
    async start() {
      opened = { value: await open() };
      return opened.value;
    },
    stop: () => (opened ? close(opened.value) : undefined),
  };
}

export class ServiceStack {
  readonly #started: Array<Service<unknown>> = [];
  readonly #log: { error(message: string): void };

  constructor(log: { error(message: string): void }) {
    this.#log = log;
  }

  /** The names of the services started so far, in order. */
  get names(): string[] {
    return this.#started.map((s) => s.name);
  }

  async start<T>(service: Service<T>): Promise<T> {
    let value: T;
    try {
      value = await service.start();
    } catch (err) {
      const started = this.names;
      this.#log.error(`the ${service.name} failed to start${started.length > 0 ? `; stopping what started (${started.reverse().join(', ')})` : ''}`);
      await this.stopAll();
      throw err;
    }
    this.#started.push(service as Service<unknown>);
    return value;
  }

  async stopAll(): Promise<void> {
    while (this.#started.length > 0) {
      const service = this.#started.pop()!;
      try {
        await service.stop?.();
      } catch (err) {
        this.#log.error(`stopping the ${service.name} failed: ${errorMessage(err)}`);
      }
    }
  }
}
