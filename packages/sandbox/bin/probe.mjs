// The self-test's probe (core/src/sandbox/self-test.ts): runs inside the boundary as an agent's
// CLI would, reads what to try as one JSON line on stdin, tries each thing and prints one JSON
// line of results, `{ "checks": [{ "name", "ok", "detail" }] }`, where ok means the boundary held.
// Secrets come on stdin, never in argv or the environment, so finding them is the boundary's fault.
import { closeSync, constants, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const INPUT_LIMIT = 1024 * 1024;

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
      if (text.length > INPUT_LIMIT) reject(new Error('input too large'));
    });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function tryConnect(host, port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ connected: false, error: 'timeout' }), timeoutMs);
    socket.once('connect', () => done({ connected: true }));
    socket.once('error', (err) => done({ connected: false, error: err.code ?? err.message }));
  });
}

/** Connects and reads what the server says first (the bridge check's echo server says `pong`). */
function readGreeting(host, port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ text, error: 'timeout' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) done({ text: text.trim() });
    });
    socket.once('error', (err) => done({ text, error: err.code ?? err.message }));
    socket.once('close', () => done({ text: text.trim() }));
  });
}

const input = JSON.parse(await readStdin());
const checks = [];

// 1. Hidden files cannot be read.
for (const path of input.hidden ?? []) {
  try {
    readFileSync(path);
    checks.push({ name: 'hidden-file', ok: false, detail: `read ${path}` });
  } catch (err) {
    checks.push({ name: 'hidden-file', ok: true, detail: `${path}: ${err.code ?? err.message}` });
  }
}

// 2. Nothing outside the workspace can be written.
for (const path of input.writeOutside ?? []) {
  try {
    writeFileSync(path, 'written from inside the sandbox\n', { flag: 'wx' });
    checks.push({ name: 'write-outside', ok: false, detail: `wrote ${path}` });
  } catch (err) {
    checks.push({ name: 'write-outside', ok: true, detail: `${path}: ${err.code ?? err.message}` });
  }
}
// …and the workspace can.
if (input.workspaceFile) {
  try {
    writeFileSync(input.workspaceFile, 'ok\n');
    checks.push({ name: 'write-workspace', ok: true, detail: input.workspaceFile });
  } catch (err) {
    checks.push({ name: 'write-workspace', ok: false, detail: `${input.workspaceFile}: ${err.code ?? err.message}` });
  }
}

// 3. No connection but the bridges.
for (const { host, port } of input.refuse ?? []) {
  const result = await tryConnect(host, port);
  checks.push({ name: 'network', ok: !result.connected, detail: `${host}:${port}: ${result.connected ? 'connected' : result.error}` });
}
if (input.bridge) {
  const { host, port, expect } = input.bridge;
  const result = await readGreeting(host, port);
  checks.push({ name: 'bridge', ok: result.text === expect, detail: `${host}:${port}: ${result.error ? result.error : JSON.stringify(result.text)}` });
}

// 4. No secret in the environment, /proc or the files that hold them.
const secrets = (input.secrets ?? []).filter((s) => typeof s === 'string' && s.length >= 8);
const found = [];
const look = (where, text) => {
  for (const secret of secrets) if (text.includes(secret)) found.push(where);
};
look('environment', JSON.stringify(process.env));
let pids = [];
try {
  pids = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
} catch {}
for (const pid of pids) {
  for (const file of ['environ', 'cmdline']) {
    try {
      look(`/proc/${pid}/${file}`, readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    } catch {}
  }
}
for (const path of input.secretFiles ?? []) {
  try {
    look(path, readFileSync(path, 'utf8'));
  } catch {}
}
checks.push({
  name: 'secrets',
  ok: found.length === 0,
  detail: found.length === 0 ? `${secrets.length} secret(s) not in the environment, /proc (${pids.length} processes) or ${(input.secretFiles ?? []).length} file(s)` : `found in ${found.join(', ')}`,
});

// 5. A PID namespace of its own: the daemon and the user's other processes are not there.
checks.push({ name: 'pid-namespace', ok: pids.length > 0 && pids.length < 16, detail: `${pids.length} processes visible` });

// 6. The kernel's settings cannot be opened for writing (opened without O_CREAT or O_TRUNC and closed unwritten: nothing changes even where it opens).
for (const path of input.kernel ?? []) {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_APPEND));
    checks.push({ name: 'kernel-settings', ok: false, detail: `${path} opened for writing` });
  } catch (err) {
    checks.push({ name: 'kernel-settings', ok: true, detail: `${path}: ${err.code ?? err.message}` });
  }
}

process.stdout.write(`${JSON.stringify({ checks })}\n`);
