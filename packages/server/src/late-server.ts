/**
 * The http server of an app that was built before it could have one (docs/startup-snapshot.md).
 *
 * The daemon's start-up snapshot holds its Fastify app already built: routes, hooks, plugins,
 * `ready()`. node's `http` module cannot be part of a snapshot, so Fastify is given this stand-in
 * through its `serverFactory`, and the real `http.Server` is made and attached when the daemon
 * runs. Every app is built this way (tests and a daemon without the snapshot too), so the path
 * the daemon takes is the one every server test takes.
 *
 * Before `attach`, the stand-in only collects listeners (Fastify adds its `clientError` handler
 * while it builds) and answers what Fastify asks while building (`closeAllConnections` exists, so
 * `forceCloseConnections` closes every socket). After `attach`, every property read, write and
 * call goes to the real server: `app.server.address()`, `listen`, `close`, `listening`, events.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Fastify's settings that its own server factory applies to the server it makes (lib/server.js). */
export interface ServerTimeouts {
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
}

/**
 * `node:http` (or `node:dns`), required when first needed. Not an `import`: node's ES module
 * facade of `node:http` reads every export, and one of them loads undici, http2 and tls (~3 MB
 * the daemon never uses); and the daemon's start-up snapshot cannot hold `node:http` at all.
 */
export function builtin<T extends 'node:http' | 'node:dns'>(name: T): T extends 'node:http' ? typeof import('node:http') : typeof import('node:dns') {
  return createRequire(import.meta.url)(name);
}

class Unattached extends EventEmitter {
  listening = false;
  address(): null {
    return null;
  }
  listen(): never {
    throw new Error('This app has no http server yet: bind it (buildServer does) before listening.');
  }
  close(callback?: (err?: Error) => void): this {
    if (callback) process.nextTick(callback);
    return this;
  }
  closeAllConnections(): void {}
  closeIdleConnections(): void {}
}

export interface LateServer {
  /** Fastify's `serverFactory`: returns the stand-in and keeps Fastify's request handler. */
  factory(handler: Handler): Server;
  /** Makes the real server and moves the stand-in's listeners to it; once. */
  attach(create: (handler: Handler) => Server, timeouts: ServerTimeouts): Server;
}

export function lateServer(): LateServer {
  const standIn = new Unattached();
  let handler: Handler | undefined;
  let real: Server | undefined;
  const target = (): object => real ?? standIn;
  const proxy = new Proxy(standIn, {
    get(_, key) {
      const to = target();
      const value: unknown = Reflect.get(to, key, to);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(to) : value;
    },
    set: (_, key, value) => Reflect.set(target(), key, value),
    has: (_, key) => Reflect.has(target(), key),
  }) as unknown as Server;
  return {
    factory(h) {
      if (handler) throw new Error('Fastify asked for a second server: only one listening address is supported by a late server.');
      handler = h;
      return proxy;
    },
    attach(create, timeouts) {
      if (real) throw new Error('This app already has its http server.');
      if (!handler) throw new Error('Fastify did not ask for its server: build the app with the late server as its serverFactory.');
      const server = create(handler);
      // What Fastify's own factory sets (it leaves them to the caller when given a serverFactory).
      server.keepAliveTimeout = timeouts.keepAliveTimeout;
      server.requestTimeout = timeouts.requestTimeout;
      server.setTimeout(timeouts.connectionTimeout);
      for (const event of standIn.eventNames()) {
        for (const listener of standIn.rawListeners(event)) server.on(event as string, listener as (...args: unknown[]) => void);
      }
      standIn.removeAllListeners();
      real = server;
      return server;
    },
  };
}
