// The boundary's first process (docs/sandbox.md, "Interfaces between the parts"): started by
// bwrap inside the sandbox's own network, PID and mount namespaces as
//
//   node sandbox-init.mjs [--bridge <port>=<unix socket path>]… [--inbound <port>=<unix socket path>]…
//                         [--control <fd>] -- <command> <args…>
//   node sandbox-init.mjs --hold [--bridge <port>=<unix socket path>]…
//   node sandbox-init.mjs --hand-over [--bridge <port>=<unix socket path>]…
//
// With --hand-over (an agent's network, agent-net.ts) it listens on 127.0.0.1:<port> for each
// bridge, sends each listener to its parent over the IPC channel (`{ port }` with the server's
// handle; `{ port, error }` when it cannot listen), then exits: the daemon accepts and forwards the
// connections itself, and no Node process stays in the agent's network.
//
// With --hold it serves an agent's network (agent-net.ts; entered with nsenter) for as long as the
// daemon keeps it: the bridges of step 1, and the inbound ports asked for. It writes `ready`
// once they listen, then reads lines on stdin: `bridge <port> <path>` adds a bridge, `inbound <port>
// <path>` listens on the socket and forwards to 127.0.0.1:<port> (each answered `<verb> <port> ok`
// or `<verb> <port> error <message>`), `close <port>` stops an inbound port; stdin's end ends it.
// Steps 2-4 are then the launcher's and bwrap's.
//
// 1. Listens on 127.0.0.1:<port> of the sandbox's own loopback for each bridge and forwards every
//    connection to the Unix socket (bound into the sandbox by the daemon): the model proxy
//    (45801), the egress proxy (45802), the daemon's API (its own port). A socket that is not
//    there yet, or refuses, closes the connection: nothing else is reachable.
//    The other way, for each inbound port: listens on the Unix socket (in a folder the daemon
//    binds read-write) and forwards each connection to 127.0.0.1:<port> inside, where the
//    command serves something the daemon reads (OpenCode's HTTP API).
// 2. Then runs the command in a process group of its own, its stdio the sandbox's.
// 3. Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to this process (the
//    daemon signals the sandbox's process group, of which this process is the only member that
//    listens) go to the command's whole group. A line `SIGINT` (any signal name) on the control
//    fd goes to the command alone: the daemon's "interrupt the CLI, not its tools".
// 4. Exits as the command did: its exit code, or the same signal.
//
// Memory (docs/sandbox.md, "sandbox-init's memory"): each chunk a bridge forwards is a buffer of
// its own, freed only when V8 collects, which it lets pile up for tens of MB first (40 MB private
// after 64 MiB each way, where this process starts with 10). So it runs a young-generation
// collection after each MiB forwarded (a fraction of a millisecond), through V8's gc(), made at
// the first MiB: node:v8 and node:vm are loaded then, not at start.
//
// Plain JavaScript with no imports but node's: it runs from the core package as it is shipped.
import { spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { connect, createServer, Socket } from 'node:net';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

function fail(message) {
  process.stderr.write(`tinyagi sandbox-init: ${message}\n`);
  process.exit(126);
}

function parse(argv) {
  const bridges = [];
  const inbound = [];
  let control;
  let hold = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg === '--hold') {
      hold = true;
      continue;
    }
    if (arg === '--hand-over') {
      hold = 'hand-over';
      continue;
    }
    if (arg === '--bridge' || arg === '--inbound') {
      const value = argv[++i] ?? '';
      const eq = value.indexOf('=');
      const port = Number(value.slice(0, eq));
      if (eq < 1 || !Number.isInteger(port) || port < 1 || port > 65535) fail(`bad ${arg} ${JSON.stringify(value)} (want <port>=<socket path>)`);
      (arg === '--bridge' ? bridges : inbound).push({ port, path: value.slice(eq + 1) });
    } else if (arg === '--control') {
      control = Number(argv[++i]);
      if (!Number.isInteger(control) || control < 3) fail('bad --control (want a file descriptor number, 3 or more)');
    } else {
      fail(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  const command = argv.slice(i + 1);
  if (hold) return { bridges, inbound, control, command: [], hold };
  if (command.length === 0) fail('no command after --');
  return { bridges, inbound, control, command, hold };
}

/** Bytes forwarded between two young-generation collections. */
const COLLECT_EVERY = 1024 * 1024;
let forwardedSinceCollect = 0;
/** V8's gc(), made at the first MiB forwarded. */
let collect;
let making = false;

function counted(chunk) {
  forwardedSinceCollect += chunk.length;
  if (forwardedSinceCollect < COLLECT_EVERY) return;
  forwardedSinceCollect = 0;
  if (collect) collect({ type: 'minor' });
  else if (!making) {
    making = true;
    // Without a collector the bridges work as they did: only the memory is not given back.
    makeCollect().catch(() => {});
  }
}

async function makeCollect() {
  const [{ setFlagsFromString }, { runInNewContext }] = await Promise.all([import('node:v8'), import('node:vm')]);
  setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc');
}

/** Listens on `listenOn` (a port on 127.0.0.1, or a socket path) and pipes each connection to `target`. */
function forward(listenOn, target) {
  const server = createServer((inside) => {
    const outside = connect(target);
    inside.on('data', counted);
    outside.on('data', counted);
    const end = () => {
      inside.destroy();
      outside.destroy();
    };
    inside.on('error', end);
    outside.on('error', end);
    inside.pipe(outside);
    outside.pipe(inside);
  });
  if (typeof listenOn === 'string') {
    try {
      unlinkSync(listenOn);
    } catch {}
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(typeof listenOn === 'string' ? listenOn : { port: listenOn, host: '127.0.0.1', exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

const { bridges, inbound, control, command, hold } = parse(process.argv.slice(2));
if (hold === 'hand-over') await handOver();
try {
  await Promise.all([...bridges.map(({ port, path }) => forward(port, path)), ...inbound.map(({ port, path }) => forward(path, { host: '127.0.0.1', port }))]);
} catch (err) {
  fail(`cannot listen on 127.0.0.1 inside the sandbox: ${err instanceof Error ? err.message : String(err)}`);
}
if (hold) {
  holdNetwork();
} else {
  runCommand();
}

/** Listens on each bridge's port and sends the listener to the parent (--hand-over), then exits. */
async function handOver() {
  if (typeof process.send !== 'function') fail('--hand-over needs an IPC channel to its parent');
  const send = (message, handle) => new Promise((resolve) => process.send(message, handle, resolve));
  for (const { port } of bridges) {
    const server = createServer();
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
      });
    } catch (err) {
      await send({ port, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    await send({ port }, server);
    server.close();
  }
  process.disconnect();
  process.exit(0);
}

/** The network holder's loop: inbound ports opened and closed on request until stdin ends. */
function holdNetwork() {
  const open = new Map();
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const [verb, portText, ...rest] = pending.slice(0, nl).split(' ');
      pending = pending.slice(nl + 1);
      const port = Number(portText);
      const path = rest.join(' ');
      const answer = (made) =>
        made.then(
          (server) => {
            if (verb === 'inbound') {
              open.get(port)?.close();
              open.set(port, server);
            }
            process.stdout.write(`${verb} ${port} ok\n`);
          },
          (err) => process.stdout.write(`${verb} ${port} error ${String(err?.message ?? err).replace(/\n/g, ' ')}\n`),
        );
      if (verb === 'inbound') answer(forward(path, { host: '127.0.0.1', port }));
      else if (verb === 'bridge') answer(forward(port, path));
      else if (verb === 'close') {
        open.get(port)?.close();
        open.delete(port);
      }
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.write('ready\n');
}

function runCommand() {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', detached: true });
  let childExited = false;
  child.once('error', (err) => fail(`cannot run ${JSON.stringify(command[0])}: ${err.code ?? err.message}`));

  const toGroup = (signal) => {
    if (childExited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone: its exit ends this process.
    }
  };
  for (const signal of FORWARDED) process.on(signal, () => toGroup(signal));

  if (control !== undefined) {
    let pending = '';
    const stream = new Socket({ fd: control, readable: true, writable: false });
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const signal = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!FORWARDED.includes(signal) || childExited) continue;
        try {
          child.kill(signal);
        } catch {
          // Gone already.
        }
      }
    });
    // The daemon's end closing is no reason to stop, and the pipe must not keep this process alive.
    stream.on('error', () => {});
    stream.unref();
  }

  child.once('exit', (code, signal) => {
    childExited = true;
    // What the command left running in its group goes with it (the sandbox's PID namespace ends with this process anyway).
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    if (signal) {
      for (const s of FORWARDED) process.removeAllListeners(s);
      process.kill(process.pid, signal);
      // A signal this process cannot die of (ignored where it was started): the shell's convention.
      setImmediate(() => process.exit(128 + (constants.signals[signal] ?? 0)));
      return;
    }
    process.exit(code ?? 1);
  });
}
