/**
 * The boundary with real bwrap and real processes (docs/sandbox.md, "The boundary"): an agent's
 * CLI started through the invoker's runner inside its sandbox, against an escape corpus, each
 * attempt of which must be refused (the counts are printed); the bridges, the private home and
 * the workspace work; signals and the exit code pass through sandbox-init; the tree dies with its
 * parent; the memory cap kills a runaway; a machine without bwrap (or whose bwrap fails) is
 * degraded with the reason, and `required` is refused with it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, privateBytes, tempDir, waitFor } from '@tinyagi/test-kit';
import { cliRunBase, runCliProcess, type CliRunOptions } from '../src/invoker/cli-runner.ts';
import { isInvokeError } from '../src/invoker/invoke-error.ts';
import { WarmProcess } from '../src/invoker/warm/warm-process.ts';
import { hiddenPaths, SANDBOX_INIT, type Boundary, cgroupLimitBytes, quickCheck, ModelProxy, SandboxRefusal, type SandboxHost, type SandboxSpec } from '@tinyagi/sandbox';
// The node's host as core makes it: the runtimes' CLI homes of core's registry hidden.
import { runSelfTest, runtimeCliHomes, sandboxHost } from '../src/sandbox/host.ts';

/** In ~/.cache (a path on the read-only root inside the sandbox, like a real home; short enough for Unix socket paths). */
const SCRATCH = join(homedir(), '.cache');
const SSH_SECRET = 'ssh-secret-7f3a9c';
const TOKEN_SECRET = 'api-token-secret-51be02';
const OTHER_SECRET = 'other-agent-notes-c0ffee';

let root: string;
let home: string;
let tinyHome: string;
let wsRoot: string;
let workspace: string;
let daemonEnv: { PATH: string; HOME: string; TINYAGI_SANDBOX_SHARED_NET?: string };
let spec: SandboxSpec;
let host: SandboxHost;
const servers: Array<Server | HttpServer> = [];
let refusedPort: number;
let apiPort: number;

function listen<T extends Server | HttpServer>(server: T): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  // Not in /tmp: inside the sandbox /tmp is a private tmpfs, where a write would land unseen; a user's home is not there either.
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-sbx-'));
  home = join(root, 'home');
  tinyHome = join(home, '.tinyagi');
  wsRoot = join(home, 'tinyagi-workspace');
  workspace = join(wsRoot, 'coder');
  for (const dir of [join(home, '.ssh'), join(home, '.aws'), join(home, '.claude'), join(home, '.codex'), tinyHome, workspace, join(wsRoot, 'other'), join(root, 'outside')])
    mkdirSync(dir, { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), `${SSH_SECRET}\n`, { mode: 0o600 });
  writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_secret_access_key = aws-secret\n');
  writeFileSync(join(home, '.claude', '.credentials.json'), '{"claudeAiOauth":{"accessToken":"oauth-secret"}}');
  writeFileSync(join(home, '.codex', 'auth.json'), '{"OPENAI_API_KEY":"sk-codex-secret"}');
  writeFileSync(join(home, '.netrc'), 'machine example.com password netrc-secret\n');
  writeFileSync(join(home, '.curlrc'), 'header = "Authorization: Bearer curlrc-secret"\n');
  writeFileSync(join(tinyHome, 'api-token'), `${TOKEN_SECRET}\n`, { mode: 0o600 });
  writeFileSync(join(tinyHome, 'settings.json'), '{"models":{"anthropic":{"api_key":"sk-ant-settings-secret"}}}');
  writeFileSync(join(wsRoot, 'other', 'notes.txt'), `${OTHER_SECRET}\n`);
  writeFileSync(join(root, 'outside', 'readme.txt'), 'visible, read-only\n');
  // Symlinks the agent finds in its workspace (planted before it starts) pointing out of it.
  symlinkSync(join(home, '.ssh', 'id_ed25519'), join(workspace, 'link-ssh'));
  symlinkSync(join(home, '.ssh'), join(workspace, 'link-ssh-dir'));
  symlinkSync(join(wsRoot, 'other', 'notes.txt'), join(workspace, 'link-other'));
  symlinkSync(join(tinyHome, 'api-token'), join(workspace, 'link-token'));
  // Another agent's sockets, and one the "daemon" keeps in its home: the sandbox must not reach them.
  mkdirSync(join(tinyHome, 'run', 'sandbox', 'other'), { recursive: true });
  for (const path of [join(tinyHome, 'run', 'sandbox', 'other', 'egress.sock'), join(tinyHome, 'daemon.sock')]) {
    const server = createServer((socket) => socket.end('leaked\n'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  }
  refusedPort = await listen(createServer((socket) => socket.end('leaked\n')));
  // The "API": reached inside through the bridge; it answers only the right token.
  apiPort = await listen(
    createHttpServer((req, res) => {
      const ok = req.headers.authorization === `Bearer ${TOKEN_SECRET}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { ok: true } : { error: { code: 'AUTH_INVALID' } }));
    }),
  );
  daemonEnv = { PATH: process.env.PATH ?? '', HOME: home };
  spec = { mode: 'required', tinyHome, workspaceRoot: wsRoot, memoryMb: 512 };
  host = sandboxHost();
});

afterAll(async () => {
  await host.close();
  for (const server of servers) server.close();
  cleanupTemp();
  rmSync(root, { recursive: true, force: true });
});

function boundary(agentId = 'coder', cwd = workspace, overrides: Partial<SandboxSpec> = {}): Boundary {
  const decision = host.boundaryFor(agentId, { ...spec, ...overrides }, cwd, daemonEnv);
  if (!decision?.boundary) throw new Error(`no boundary: ${JSON.stringify(decision)}`);
  return decision.boundary;
}

/** Runs `bash -c script` as an agent's CLI inside the boundary through the invoker's runner. */
async function runInside(script: string, opts: Partial<CliRunOptions> & { env?: Record<string, string>; b?: Boundary } = {}) {
  const b = opts.b ?? boundary();
  const lines: string[] = [];
  const outcome = await runCliProcess({
    what: 'bash (agent coder)',
    command: 'bash',
    args: ['-c', script],
    cwd: b.cwd,
    env: b.env({ PATH: daemonEnv.PATH, HOME: home, LANG: 'C.UTF-8', TINYAGI_API_URL: `http://127.0.0.1:${apiPort}`, ...opts.env }),
    limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
    killGraceMs: 2_000,
    exitAfterResultMs: 5_000,
    installHint: 'bash',
    onLine: (line) => lines.push(line),
    boundary: b,
    ...opts,
  });
  return { outcome, lines };
}

/** A node script as an agent's warm process inside the boundary, its output lines collected. */
async function startWarmNode(b: Boundary, script: string, inboundPorts?: number[]): Promise<{ proc: WarmProcess; lines: string[] }> {
  const lines: string[] = [];
  const proc = await WarmProcess.start({
    what: `node (agent ${b.agentId})`,
    command: process.execPath,
    args: ['-e', script],
    cwd: b.cwd,
    env: b.env({ PATH: daemonEnv.PATH, HOME: home }),
    killGraceMs: 2_000,
    installHint: 'node',
    onLine: (line) => lines.push(line),
    boundary: b,
    ...(inboundPorts ? { inboundPorts } : {}),
  });
  return { proc, lines };
}

/** The processes whose command line holds each of `parts` (the sandbox-init of an agent's run folder, say). */
function processesWith(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const argv = safeRead(`/proc/${pid}/cmdline`).split('\0');
      return argv[0] === process.execPath && parts.every((part) => argv.some((a) => a.includes(part)));
    });
}

/**
 * The process holding an agent's network (agent-net.ts): the `cat` under the holder's bwrap (whose
 * command line names the run folder and is `sh -c 'echo ready && exec cat'`); undefined when there is none.
 */
function holderOf(runDir: string): number | undefined {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const argv = safeRead(`/proc/${name}/cmdline`).split('\0');
    if (!argv[0]?.endsWith('bwrap') || !argv.includes('echo ready && exec cat') || !argv.includes(runDir)) continue;
    for (const child of safeRead(`/proc/${name}/task/${name}/children`).split(' ').filter(Boolean)) {
      const stat = safeRead(`/proc/${child}/stat`);
      if (stat.includes('(cat)') && !/\) [ZX] /.test(stat)) return Number(child);
    }
  }
  return undefined;
}

/** A loopback port free on the host now. */
function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

// Each start joins its agent's network (agent-net.ts), or, with TINYAGI_SANDBOX_SHARED_NET=0, bridges a network of its own.
describe.each([
  ["in the agent's network", '1'],
  ['with a network of its own per start', '0'],
])('the boundary (real bwrap), %s', (_how, shared) => {
  beforeAll(() => {
    daemonEnv.TINYAGI_SANDBOX_SHARED_NET = shared;
  });
  afterAll(() => {
    delete daemonEnv.TINYAGI_SANDBOX_SHARED_NET;
  });

  it('refuses every attempt of the escape corpus; the workspace, the private home and the bridge work', async () => {
    const hostRun = existsSync('/run') ? readdirSync('/run').filter((e) => /^[\w.-]+$/.test(e)) : [];
    const hostTmpFile = join(tempDir('tinyagi-host-tmp-'), 'secret.txt');
    writeFileSync(hostTmpFile, 'host tmp\n');
    const attempts: Array<[string, string]> = [
      // First: a later attempt (mount, umount) makes the sandbox's own /run/mount, which a host with a /run/mount would read as its.
      [
        `the host's /run (${hostRun.join(', ') || 'empty here'}: Docker's, the databases', the user bus's sockets)`,
        `for e in ${hostRun.map((e) => `'${e}'`).join(' ')}; do test -e "/run/$e" && exit 0; done; exit 1`,
      ],
      ['symlink to ~/.ssh/id_ed25519', 'cat link-ssh'],
      ['symlink to ~/.ssh', 'cat link-ssh-dir/id_ed25519'],
      ["symlink to another agent's workspace", 'cat link-other'],
      ['symlink to the TinyAGI home', 'cat link-token'],
      ['a new symlink made inside', `ln -sf ${home}/.ssh/id_ed25519 mine && cat mine`],
      ["'..' to another agent's workspace", 'cat ../other/notes.txt'],
      ["'..' to ~/.ssh", 'cat ../../.ssh/id_ed25519'],
      ['~/.ssh by its path', `cat ${home}/.ssh/id_ed25519`],
      ['~/.aws', `cat ${home}/.aws/credentials`],
      ['~/.netrc', `grep -q secret ${home}/.netrc`],
      ['~/.curlrc', `grep -q secret ${home}/.curlrc`],
      ["the user's Claude Code login", `cat ${home}/.claude/.credentials.json`],
      ["the user's Codex login", `cat ${home}/.codex/auth.json`],
      ['the API token', `cat ${tinyHome}/api-token`],
      ['settings.json', `cat ${tinyHome}/settings.json`],
      ['/proc/self/root', `cat /proc/self/root${home}/.ssh/id_ed25519`],
      ['/proc/1/root', `cat /proc/1/root${home}/.ssh/id_ed25519`],
      ['/proc/<daemon pid>/environ', `cat /proc/${process.pid}/environ`],
      ['/proc/<daemon pid>/root', `ls /proc/${process.pid}/root/`],
      ['bind mount over the hiding', `mount --bind ${home} /mnt && cat /mnt/.ssh/id_ed25519`],
      ['unmount the hiding', `umount ${home}/.ssh && cat ${home}/.ssh/id_ed25519`],
      ['a nested user namespace to unmount it', `unshare -Urm sh -c 'umount ${home}/.ssh; cat ${home}/.ssh/id_ed25519'`],
      ['write outside the workspace', `echo x > ${root}/outside/new.txt`],
      ["write another agent's workspace", `echo x > ${wsRoot}/other/new.txt`],
      ['write the home', `echo x > ${home}/new.txt`],
      ['write a hidden directory', `echo x > ${home}/.ssh/authorized_keys`],
      ['write the TinyAGI home', `echo x > ${tinyHome}/settings.json`],
      ['write the system', 'echo x > /usr/local/new.txt'],
      ['/dev/tcp to a host loopback port', `echo hi > /dev/tcp/127.0.0.1/${refusedPort}`],
      ['/dev/tcp to a public address', 'echo hi > /dev/tcp/1.1.1.1/80'],
      ['a Unix socket in the TinyAGI home', `node -e "require('net').connect('${tinyHome}/daemon.sock').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"`],
      ["another agent's egress socket", `node -e "require('net').connect('${tinyHome}/run/sandbox/other/egress.sock').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"`],
      [
        'the API with a guessed token',
        `node -e "fetch(process.env.TINYAGI_API_URL+'/api/agents',{headers:{authorization:'Bearer guessed-0000'}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`,
      ],
      ["PostgreSQL's Unix socket", `node -e "require('net').connect('/run/postgresql/.s.PGSQL.5432').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"`],
      ["the host's /tmp", `test -e ${hostTmpFile}`],
    ];
    const script = attempts.map(([, cmd], i) => `if ( ${cmd} ) >/dev/null 2>&1; then echo "ESCAPED ${i}"; else echo "refused ${i}"; fi`).join('\n');
    const positive = [
      'echo written > in-workspace.txt && echo "ok workspace"',
      'echo private > "$HOME/private.txt" && echo "ok home $HOME"',
      'echo tmp > /tmp/t && echo "ok tmp"',
      `node -e "fetch(process.env.TINYAGI_API_URL+'/api/agents',{headers:{authorization:'Bearer ${TOKEN_SECRET}'}}).then(r=>r.json()).then(j=>console.log('ok api '+JSON.stringify(j)))"`,
      'cat /etc/hostname >/dev/null && echo "ok read-only system"',
      `cat ${root}/outside/readme.txt >/dev/null && echo "ok read outside"`,
    ].join('\n');
    const { outcome, lines } = await runInside(`${script}\n${positive}`);
    expect(outcome.exitCode, outcome.stderrTail).toBe(0);
    const escaped = lines.filter((l) => l.startsWith('ESCAPED')).map((l) => attempts[Number(l.split(' ')[1])]![0]);
    const refused = lines.filter((l) => l.startsWith('refused')).length;
    console.log(`escape corpus: ${attempts.length} attempts, ${refused} refused, ${escaped.length} escaped${escaped.length ? `: ${escaped.join('; ')}` : ''}`);
    expect(escaped).toEqual([]);
    expect(refused).toBe(attempts.length);
    expect(lines).toContain('ok workspace');
    expect(lines).toContain(`ok home ${join(tinyHome, 'agent-homes', 'coder')}`);
    expect(lines).toContain('ok tmp');
    expect(lines).toContain('ok api {"ok":true}');
    expect(lines).toContain('ok read-only system');
    expect(lines).toContain('ok read outside');
    // What was written inside is where the daemon reads it; nothing of the refused writes exists.
    expect(readFileSync(join(workspace, 'in-workspace.txt'), 'utf8')).toBe('written\n');
    expect(readFileSync(join(tinyHome, 'agent-homes', 'coder', 'private.txt'), 'utf8')).toBe('private\n');
    for (const path of [join(root, 'outside', 'new.txt'), join(wsRoot, 'other', 'new.txt'), join(home, 'new.txt'), join(home, '.ssh', 'authorized_keys')]) expect(existsSync(path), path).toBe(false);
    expect(readFileSync(join(tinyHome, 'settings.json'), 'utf8')).toContain('sk-ant-settings-secret');
  });

  it("a CLI on the daemon's PATH in a folder under /tmp (a wrapper) runs inside, read-only; the rest of the host's /tmp stays out", async () => {
    const bin = tempDir('tinyagi-wrapper-bin-');
    const sibling = join(tempDir('tinyagi-wrapper-sibling-'), 'secret.txt');
    writeFileSync(sibling, 'not for the agent\n');
    writeFileSync(
      join(bin, 'agent-cli'),
      `#!/bin/sh\necho "wrapper ran in $(pwd)"; touch "$0.new" 2>/dev/null || echo "its folder is read-only"; cat ${sibling} 2>/dev/null || echo "the sibling is not there"\n`,
      { mode: 0o755 },
    );
    const b = boundary();
    const lines: string[] = [];
    const outcome = await runCliProcess({
      what: 'agent-cli (agent coder)',
      command: 'agent-cli',
      args: [],
      cwd: b.cwd,
      env: b.env({ PATH: `${bin}:${daemonEnv.PATH}`, HOME: home }),
      limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
      killGraceMs: 2_000,
      exitAfterResultMs: 5_000,
      installHint: 'agent-cli',
      onLine: (line) => lines.push(line),
      boundary: b,
    });
    expect(outcome.exitCode, outcome.stderrTail).toBe(0);
    expect(lines).toEqual([`wrapper ran in ${workspace}`, 'its folder is read-only', 'the sibling is not there']);
  });

  it("a warm process's inbound port (OpenCode's API): the daemon reaches what it serves on the sandbox's loopback at the same port, until it exits", async () => {
    const port = await freePort();
    const b = boundary();
    const serve = `require('http').createServer((q, r) => r.end('served by pid ' + process.pid)).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
    const { proc, lines } = await startWarmNode(b, serve, [port]);
    try {
      await waitFor(() => lines.includes('listening'), 20_000, 'the server inside');
      const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      // A pid of the sandbox's own PID namespace (bwrap's init is 1, sandbox-init 2): the server is inside.
      expect(Number(/^served by pid (\d+)$/.exec(body)?.[1])).toBeLessThan(16);
    } finally {
      await proc.close(0);
    }
    // Released with the process: the host's port is free again.
    await new Promise<void>((resolve, reject) => {
      const again = createServer();
      again.once('error', reject);
      again.listen(port, '127.0.0.1', () => again.close(() => resolve()));
    });
  });

  it('the bridges do not keep what they forward: 32 MiB each way, every byte intact; a per-start sandbox-init stays small, an agent network has none', async () => {
    const b = boundary(shared === '1' ? 'mover' : 'mover-own');
    mkdirSync(b.runDir, { recursive: true, mode: 0o700 });
    // The model proxy's place: an echo server on the agent's model.sock.
    const echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
    servers.push(echo);
    await new Promise<void>((resolve) => echo.listen(join(b.runDir, 'model.sock'), () => resolve()));
    // One connection per MiB, as a CLI's model calls come (no half-close: an HTTP client does not); each echo compared with what was sent.
    const mover = `
      const net = require('node:net');
      const sent = Buffer.alloc(1048576);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 7919) % 251;
      const send = (left, intact) => {
        if (left === 0) return console.log('moved ' + intact);
        const chunks = [];
        let got = 0;
        const socket = net.connect(45801, '127.0.0.1');
        socket.on('data', (d) => {
          chunks.push(d);
          got += d.length;
          if (got < sent.length) return;
          socket.destroy();
          send(left - 1, intact + (Buffer.concat(chunks).equals(sent) ? 1 : 0));
        });
        socket.write(sent);
      };
      process.stdin.once('data', () => send(32, 0));
      console.log('ready');`;
    const { proc, lines } = await startWarmNode(b, mover);
    try {
      await waitFor(() => lines.includes('ready'), 20_000, 'the mover inside');
      if (shared === '1') {
        // The agent's network forwards in the daemon's own process (agent-net.ts): no Node process of its own holds it.
        expect(holderOf(b.runDir), "the agent's network holder").toBeDefined();
        expect(processesWith(SANDBOX_INIT, b.runDir), 'a sandbox-init serving the network').toEqual([]);
        proc.writeLine('go');
        await waitFor(() => lines.some((l) => l.startsWith('moved ')), 60_000, 'the 32 MiB each way');
        expect(lines).toContain('moved 32');
        return;
      }
      // The start's own sandbox-init bridges.
      const init = processesWith(SANDBOX_INIT, b.runDir)[0];
      expect(init, "the agent's sandbox-init among the machine's processes").toBeDefined();
      const before = privateBytes(init!);
      proc.writeLine('go');
      await waitFor(() => lines.some((l) => l.startsWith('moved ')), 60_000, 'the 32 MiB each way');
      expect(lines).toContain('moved 32');
      const after = privateBytes(init!);
      const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
      console.log(`sandbox-init private memory: ${mib(before)} started, ${mib(after)} after 32 MiB each way`);
      // Before it collected as it forwarded (sandbox-init.mjs, "Memory") it held ~30 MiB more here; since, ~3-5 MiB more.
      expect(after - before, `${mib(before)} -> ${mib(after)}`).toBeLessThan(12 * 1048576);
    } finally {
      await proc.close(0);
    }
  });

  it('hides the hidden paths that exist, the workspace root and the TinyAGI home among them', () => {
    const hidden = hiddenPaths({ env: daemonEnv, tinyHome, workspaceRoot: wsRoot, cliHomes: runtimeCliHomes() });
    for (const path of [join(home, '.ssh'), join(home, '.aws'), join(home, '.claude'), join(home, '.codex'), join(home, '.netrc'), join(home, '.curlrc'), tinyHome, wsRoot])
      expect(hidden).toContain(path);
    expect(hidden).not.toContain(join(home, '.docker'));
  });

  it('passes the exit code and the group SIGTERM through sandbox-init: the CLI exits on its own terms', async () => {
    expect((await runInside('exit 7')).outcome.exitCode).toBe(7);
    // The inactivity watchdog's SIGTERM to the group reaches the CLI (once, through sandbox-init), which says so and exits.
    const lines: string[] = [];
    const term = await runInside(`trap 'echo "got TERM"; exit 3' TERM; echo ready; while :; do sleep 0.05; done`, {
      limits: { timeoutMs: 60_000, inactivityMs: 800, startGraceMs: 5_000 },
      onLine: (line) => lines.push(line),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInvokeError(term) && term.kind).toBe('timeout');
    expect(lines).toEqual(['ready', 'got TERM']);
  });

  it('a cancel reaches a trapping CLI as SIGINT and it ends its turn (output seen)', async () => {
    const controller = new AbortController();
    const b = boundary();
    const lines: string[] = [];
    const run = runCliProcess({
      what: 'bash (agent coder)',
      command: 'bash',
      args: ['-c', `trap 'echo "got INT"; exit 0' INT; echo ready; while :; do sleep 0.05; done`],
      cwd: b.cwd,
      env: b.env({ PATH: daemonEnv.PATH, HOME: home }),
      limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
      killGraceMs: 5_000,
      exitAfterResultMs: 5_000,
      installHint: 'bash',
      interruptSignal: 'SIGINT',
      signal: controller.signal,
      onLine: (line) => lines.push(line),
      boundary: b,
    }).catch((e: unknown) => e);
    await waitFor(() => lines.includes('ready'), 20_000, 'ready');
    controller.abort();
    const err = await run;
    expect(isInvokeError(err) && err.kind).toBe('cancelled');
    expect(lines).toContain('got INT');
  });

  it('the sandboxed tree dies with its parent (--die-with-parent)', async () => {
    const b = boundary();
    const marker = `sleep 1000.${process.pid}${Date.now() % 1000}`;
    const wrapped = await b.wrap({ command: 'bash', args: ['-c', `${marker}`], env: b.env({ PATH: daemonEnv.PATH, HOME: home }) });
    // A stand-in daemon: a node process that starts the sandbox and is then SIGKILLed (no cleanup at all).
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const c=require('child_process').spawn(${JSON.stringify(wrapped.command)}, ${JSON.stringify(wrapped.args)}, {cwd: ${JSON.stringify(b.cwd)}, env: ${JSON.stringify(wrapped.env)}, stdio: ['ignore','ignore','ignore','pipe'], detached: true}); setInterval(()=>{},1e9);`,
      ],
      { stdio: 'ignore' },
    );
    const running = (): boolean => readdirSync('/proc').some((p) => /^\d+$/.test(p) && safeRead(`/proc/${p}/cmdline`).replaceAll('\0', ' ').includes(marker));
    await waitFor(running, 20_000, 'the sandboxed sleep');
    parent.kill('SIGKILL');
    await waitFor(() => !running(), 20_000, 'the sandboxed sleep to die with its parent');
  });

  it('caps the agent memory in a cgroup: a runaway is killed, the limit is the setting', async () => {
    const b = boundary('hog', workspace, { memoryMb: 96 });
    const { outcome } = await runInside(`node -e "const a=[]; for(let i=0;i<40;i++){a.push(Buffer.alloc(16*2**20,1))} console.log('survived')"`, { b });
    expect(outcome.exitCode).toBe(137);
    const base = readFileSync('/proc/self/cgroup', 'utf8');
    const line = base.split('\n').find((l) => /:memory:/.test(l) || l.startsWith('0::'))!;
    const dir = line.includes(':memory:')
      ? join('/sys/fs/cgroup/memory', line.split(':').slice(2).join(':'), `tinyagi-${process.pid}-${host.id}`, 'agent-hog')
      : join('/sys/fs/cgroup', line.slice(3), `tinyagi-${process.pid}-${host.id}`, 'agent-hog');
    expect(cgroupLimitBytes(dir)).toBe(96 * 1024 * 1024);
  });

  it.runIf(shared === '1')("the starts of one agent share its loopback as unconfined ones share the host's; another agent's starts do not", async () => {
    const port = await freePort();
    const b = boundary();
    const { proc, lines } = await startWarmNode(b, `require('net').createServer((s) => s.end('coder here\\n')).listen(${port}, '127.0.0.1', () => console.log('listening'))`);
    try {
      await waitFor(() => lines.includes('listening'), 20_000, 'the server inside');
      const reach = `node -e "require('net').connect(${port}, '127.0.0.1').on('data', (d) => console.log('got ' + d.toString().trim())).on('error', (e) => console.log('refused ' + e.code))"`;
      const same = await runInside(reach, { b });
      expect(same.lines).toContain('got coder here');
      const other = await runInside(reach, { b: boundary('other', join(wsRoot, 'other')) });
      expect(other.lines).toContain('refused ECONNREFUSED');
      // Nor the host: nothing listens there on that port, and the sandbox's server is not the host's.
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await proc.close(0);
    }
  });

  it.runIf(shared === '1')("an agent's network whose holder died is made again at the next start", async () => {
    const b = boundary('phoenix');
    const first = await runInside(`curl -q --noproxy '*' -sS -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer ${TOKEN_SECRET}" "$TINYAGI_API_URL/"`, { b });
    expect(first.lines, `the first start's outcome: ${JSON.stringify(first.outcome)}`).toContain('200');
    const holder = holderOf(b.runDir);
    expect(holder, "the agent's network holder").toBeDefined();
    process.kill(holder!, 'SIGKILL');
    await waitFor(() => holderOf(b.runDir) === undefined, 10_000, 'the holder to go');
    const again = await runInside(`curl -q --noproxy '*' -sS -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer ${TOKEN_SECRET}" "$TINYAGI_API_URL/"`, { b });
    // The run's outcome in the message: a failure in CI says how the start ended (exit code, signal, stderr).
    expect(again.lines, `the next start's outcome: ${JSON.stringify(again.outcome)}`).toContain('200');
    const next = holderOf(b.runDir);
    expect(next).toBeDefined();
    expect(next).not.toBe(holder);
  });

  it.runIf(shared === '1')('a holder killed a moment ago is not joined: the start right after the kill makes another', async () => {
    // No wait for the holder to go: a SIGKILLed holder is still in /proc (the kill pending, then exiting) while this start asks for the network.
    const b = boundary('phoenix-now');
    const curl = `curl -q --noproxy '*' -sS -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer ${TOKEN_SECRET}" "$TINYAGI_API_URL/"`;
    const first = await runInside(curl, { b });
    expect(first.lines, `the first start's outcome: ${JSON.stringify(first.outcome)}`).toContain('200');
    const holder = holderOf(b.runDir);
    expect(holder, "the agent's network holder").toBeDefined();
    process.kill(holder!, 'SIGKILL');
    const again = await runInside(curl, { b });
    expect(again.lines, `the next start's outcome: ${JSON.stringify(again.outcome)}`).toContain('200');
    expect(holderOf(b.runDir)).not.toBe(holder);
  });
});

describe("the daemon's self-test", () => {
  it('passes on this machine: each check held, the probe joined the cgroup, secrets (the API token among them) nowhere inside', async () => {
    const check = await runSelfTest({ tinyHome, workspaceRoot: wsRoot, env: daemonEnv, secrets: [TOKEN_SECRET, 'sk-ant-settings-secret'], memoryMb: 256 });
    expect(check.problem).toBeUndefined();
    expect(check.ok).toBe(true);
    expect(check.source).toBe('self-test');
    expect(check.memory).toEqual({ ok: true });
    const names = new Set(check.checks.map((c) => c.name));
    for (const name of ['hidden-file', 'write-outside', 'write-workspace', 'network', 'bridge', 'secrets', 'pid-namespace']) expect(names, name).toContain(name);
    expect(check.checks.filter((c) => !c.ok)).toEqual([]);
    expect(check.checks.find((c) => c.name === 'secrets')?.detail).toMatch(/^3 secret\(s\) not in/);
  });

  it("passes with a daemon's short PATH (node's folder only, as a service manager or a test gives it): bwrap is found where Debian puts it", async () => {
    const check = await runSelfTest({ tinyHome, workspaceRoot: wsRoot, env: { PATH: dirname(process.execPath), HOME: home }, memoryMb: 256 });
    expect(check.problem).toBeUndefined();
    expect(check.ok).toBe(true);
  });

  it("a daemon with node's folder alone on PATH still joins its agents' networks: nsenter and env are found where Debian puts them", () => {
    const agentNet = join(dirname(SANDBOX_INIT), '..', 'src', 'agent-net.ts');
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `import { joinTools } from ${JSON.stringify(agentNet)}; console.log(JSON.stringify(joinTools() ?? null));`], {
      encoding: 'utf8',
      env: { PATH: dirname(process.execPath), HOME: home },
    });
    expect(probe.stderr).toBe('');
    expect(JSON.parse(probe.stdout)).toMatchObject({ nsenter: expect.stringMatching(/\/nsenter$/), env: expect.stringMatching(/\/env$/) });
  });

  it('a failing bwrap on PATH: not ok, with its words and the fix; nothing ran', async () => {
    const dir = tempDir('tinyagi-failing-bwrap-');
    writeFileSync(join(dir, 'bwrap'), "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const check = await runSelfTest({ tinyHome, workspaceRoot: wsRoot, env: { PATH: `${dir}:${daemonEnv.PATH}`, HOME: home } });
    expect(check.ok).toBe(false);
    expect(check.problem?.reason).toContain('No permissions to creating new namespace');
    expect(check.problem?.fix).toMatch(/user namespaces|userns/);
    expect(check.checks).toEqual([]);
  });
});

describe('a machine that cannot enforce it', () => {
  it('no bwrap on PATH nor in the usual places: the reason and the fix', () => {
    const empty = tempDir('tinyagi-no-bwrap-');
    const env = { PATH: empty, HOME: home };
    const check = quickCheck(env, []);
    expect(check.ok).toBe(false);
    expect(check.problem?.reason).toContain('bwrap (bubblewrap) is not installed');
    expect(check.problem?.fix).toContain('apt-get install bubblewrap');
  });

  it('a bwrap that cannot make user namespaces: the reason is its own words, the fix names the setting; required is refused with it', async () => {
    const dir = tempDir('tinyagi-failing-bwrap-');
    const fake = join(dir, 'bwrap');
    writeFileSync(fake, "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    const env = { PATH: `${dir}:${process.env.PATH}`, HOME: home };
    const check = quickCheck(env);
    expect(check.ok).toBe(false);
    expect(check.problem?.reason).toContain('setting up uid map: Permission denied');
    expect(check.problem?.fix).toMatch(/user namespaces|userns/);
    // A node whose self-test found that: its host's boundaries follow its check.
    const failing = sandboxHost();
    failing.recordCheck(check);
    try {
      expect(() => failing.boundaryFor('strict', { ...spec, mode: 'required' }, workspace, env)).toThrow(/sandbox "required".*setting up uid map: Permission denied/);
      // The sandbox refuses in its own words (SandboxRefusal); the invoker makes it permanent: the message fails once.
      expect(() => failing.boundaryFor('strict', { ...spec, mode: 'required' }, workspace, env)).toThrow(SandboxRefusal);
      const on = failing.boundaryFor('relaxed', { ...spec, mode: 'on' }, workspace, env);
      expect(on?.boundary).toBeUndefined();
      expect(on?.degraded?.reason).toContain('Permission denied');
      // What a CLI runtime does with it: `on` runs unconfined (its own environment) and the run says why; `required` fails before anything starts.
      const events: unknown[] = [];
      const target = { runtime: 'claude-code', provider: 'claude-code', sandbox: { ...spec, mode: 'on' as const } };
      const base = cliRunBase(
        { agentId: 'relaxed', target, sandboxHost: failing, prompt: '', systemPrompt: '', cwd: workspace, onEvent: (e) => events.push(e) },
        { binary: 'claude', installHint: '' },
      );
      expect(base.boundary).toBeUndefined();
      expect(base.env.HOME).toBe(process.env.HOME);
      expect(events).toEqual([{ type: 'status', message: expect.stringMatching(/^sandbox degraded: runs unconfined \(.*setting up uid map: Permission denied/) }]);
      let refused: unknown;
      try {
        cliRunBase(
          { agentId: 'strict', sandboxHost: failing, target: { ...target, sandbox: { ...spec, mode: 'required' } }, prompt: '', systemPrompt: '', cwd: workspace },
          { binary: 'claude', installHint: '' },
        );
      } catch (err) {
        refused = err;
      }
      expect(isInvokeError(refused) && refused.kind).toBe('permanent');
      expect(refused).toMatchObject({ message: expect.stringContaining('sandbox "required"'), hint: expect.stringContaining('agents.strict.sandbox') });
    } finally {
      await failing.close();
    }
  });
});

it('a long agent id under a long TINYAGI_HOME still runs: its sockets get a short folder, where the model proxy opens its socket too', async () => {
  const longHome = join(root, 'h'.repeat(60), '.tinyagi');
  const agentId = 'a'.repeat(64);
  mkdirSync(longHome, { recursive: true });
  const b = boundary(agentId, workspace, { tinyHome: longHome });
  expect(Buffer.byteLength(join(longHome, 'run', 'sandbox', agentId, 'model.sock'))).toBeGreaterThan(107);
  expect(Buffer.byteLength(join(b.runDir, 'tcp-65535.sock'))).toBeLessThanOrEqual(107);
  // What the daemon's proxies open for the agent is where the boundary bridges from.
  const proxy = await ModelProxy.start({ dir: join(longHome, 'run', 'sandbox') });
  try {
    expect(await proxy.open(agentId)).toBe(join(b.runDir, 'model.sock'));
    const run = await runInside(`curl -q --noproxy '*' -sS -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer ${TOKEN_SECRET}" "$TINYAGI_API_URL/"`, { b });
    expect(run.lines, `the start's outcome: ${JSON.stringify(run.outcome)}`).toContain('200');
  } finally {
    await proxy.stop();
  }
  // Under the TinyAGI home while that is short enough; the same id and home give the same folder.
  expect(boundary(agentId, workspace, { tinyHome: join(root, 'x') }).runDir.startsWith(join(root, 'x', 'run', 'sandbox', '~'))).toBe(true);
  expect(boundary(agentId, workspace, { tinyHome: longHome }).runDir).toBe(b.runDir);
});

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
