/**
 * `tinyagi doctor`: diagnoses a broken install. Each check says what it found, why it matters
 * and how to fix it; `--fix` applies the safe fixes (file permissions, missing token or
 * directories, workspace provisioning, database migrations). It never rewrites settings.json.
 * Without `--fix` or `--migrate` the database is opened read-only: pending migrations are
 * reported, not applied. The database check is the selected backend's (daemon/storage.ts): the
 * home's SQLite file, or the PostgreSQL database of storage.url / TINYAGI_DATABASE_URL.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { channelKinds, errorMessage, isTinyError, loadSettings, runtimeKinds, type Settings } from '@tinyagi/core';
import {
  ALLOW_REMOTE_ENV,
  agentProvider,
  agentWorkspaceDir,
  applyEnvOverrides,
  codexProviderStatus,
  customProviderRuntime,
  effectiveServer,
  isLoopbackHost,
  oldRuntimeNames,
  oldMockRulesPaths,
  openDatabase,
  ownEntry,
  provisionWorkspace,
  remoteAllowed,
  type Env,
  type TinyDatabase,
} from '../core-internal.ts';
import { loadOrCreateApiToken } from '@tinyagi/server';
import { createApiClient, isApiError } from '@tinyagi/client';
import { channelStateText, requiredChannelSecrets, type ChannelStatus } from '@tinyagi/client/contract';
import type { CliContext } from '../context.ts';
import { agentClis, findOnPath, installedAgentClis } from '../daemon/agent-clis.ts';
import { restrictToOwner, tokenFileExposure } from '../daemon/api-token.ts';
import { findChannelRunner } from '../daemon/channel-supervisor.ts';
import { channelSecretFlag } from '../kinds.ts';
import { findDaemon } from '../daemon/connection.ts';
import { ensureHomeDirectories } from '../daemon/first-run.ts';
import { daemonSnapshot, snapshotState } from '../daemon/launch.ts';
import { readRunningDaemon } from '../daemon/instance-lock.ts';
import { BUILD_OFFICE, tinyOfficeState } from '../office/locate.ts';
import { plural } from '../output/print.ts';
import { describeStorage, selectStorage } from '../daemon/storage.ts';
import { agentStatuses } from './agent-status.ts';
import { type Finding, migrationsFinding } from './finding.ts';
import { checkAcpAgents } from './acp-agents.ts';
import { checkCliVersions } from './cli-versions.ts';
import { checkEmbeddings } from './memory-embeddings.ts';
import { checkSandbox } from './sandbox.ts';
import { heldFindings } from './held.ts';
import { checkSandboxLogins } from './sandbox-logins.ts';
import { appliedMigrations, pendingMigrations } from './migrations.ts';

export type { CheckStatus, Finding } from './finding.ts';

export interface DoctorOptions {
  fix: boolean;
  /** Apply pending database migrations (also done by `fix`). */
  migrate?: boolean;
}

const MIN_NODE_MAJOR = 22;

/** The command an agent's runtime starts (its descriptor's `command`), if it starts one. */
function cliFor(settings: Settings, provider: string): string | undefined {
  if (!provider.startsWith('custom:')) return runtimeKinds.get(provider)?.command ?? undefined;
  const runtime = customProviderRuntime(ownEntry(settings.custom_providers, provider.slice('custom:'.length)));
  return runtime === undefined ? undefined : (runtimeKinds.get(runtime)?.command ?? undefined);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function checkNode(): Finding {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { check: 'node', status: 'ok', message: `Node.js ${process.versions.node}` }
    : { check: 'node', status: 'fail', message: `Node.js ${process.versions.node} is too old.`, hint: `Install Node.js ${MIN_NODE_MAJOR} or newer (24 LTS recommended).` };
}

/**
 * The environment agents are started from: the running daemon's own (read from /proc; it is the
 * environment of the shell that started it, not necessarily this one), else this shell's, which a
 * daemon started from here would inherit.
 */
function daemonEnvironment(ctx: CliContext): { env: Env; pid?: number } {
  const record = readRunningDaemon(ctx.paths.lockFile);
  if (record !== undefined) {
    try {
      const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0');
      const env: Record<string, string> = {};
      for (const entry of environ) {
        const at = entry.indexOf('=');
        if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
      }
      return { env, pid: record.pid };
    } catch {
      // not Linux, or not readable: the best guess is this shell's
    }
  }
  return { env: ctx.env };
}

/** The PATH agent CLIs are looked up on: the daemon's environment's (above). */
export function agentCliPath(ctx: CliContext): { path: string | undefined; whose: string } {
  const { env, pid } = daemonEnvironment(ctx);
  return { path: env['PATH'], whose: pid === undefined ? 'PATH' : `the daemon's PATH (pid ${pid})` };
}

/**
 * Codex agents that run with the user's own Codex config (no TinyAGI provider): the provider it
 * selects must find its key variable in the agent's environment (core's codexProviderStatus),
 * else every message fails at once.
 */
function checkCodexProviders(ctx: CliContext, settings: Settings | undefined): Finding[] {
  if (!settings) return [];
  const { env, pid } = daemonEnvironment(ctx);
  const whose = pid === undefined ? "this shell's environment" : `the daemon's environment (pid ${pid})`;
  return agentStatuses(settings, env, codexProviderStatus).map(({ id, status }) => ({
    check: `codex-provider:${id}`,
    status: status.status,
    message: `Agent "${id}": ${status.message}${status.status === 'ok' ? '' : ` (checked against ${whose})`}`,
  }));
}

/** The `acp` runtime's agents (acp-agents.ts), against the daemon's environment and PATH. */
function checkAcpAgentsOf(ctx: CliContext, settings: Settings | undefined): Promise<Finding[]> {
  const { env } = daemonEnvironment(ctx);
  const { path, whose } = agentCliPath(ctx);
  return checkAcpAgents(settings, env, path, whose, ctx.env);
}

function checkAgentClis(ctx: CliContext, settings: Settings | undefined): Finding[] {
  const { path, whose } = agentCliPath(ctx);
  const installed = installedAgentClis({ PATH: path });
  const elsewhere = (command: string): string | undefined => (path === ctx.env['PATH'] ? undefined : findOnPath(command, ctx.env));
  const clis = agentClis();
  const findings: Finding[] = clis.map((cli) => {
    const found = installed.find((i) => i.command === cli.command);
    if (found) return { check: `cli:${cli.command}`, status: 'ok' as const, message: `${cli.product} found at ${found.path} (on ${whose})` };
    const here = elsewhere(cli.command);
    return {
      check: `cli:${cli.command}`,
      status: 'info' as const,
      message: `${cli.product} (\`${cli.command}\`) is not on ${whose}.`,
      ...(here !== undefined
        ? { hint: `It is on this shell's PATH (${here}): the daemon keeps the PATH it started with, so run \`tinyagi stop && tinyagi start\` from this shell.` }
        : cli.installHint !== null
          ? { hint: `To run agents on ${cli.provider}: ${cli.installHint}` }
          : {}),
    };
  });
  for (const [id, agent] of Object.entries(settings?.agents ?? {})) {
    const provider = agentProvider(settings ?? {}, agent);
    const needed = cliFor(settings ?? {}, provider);
    if (needed !== undefined && !installed.some((i) => i.command === needed)) {
      const here = elsewhere(needed);
      findings.push({
        check: `agent:${id}`,
        status: 'fail',
        message: `Agent "${id}" runs on ${provider}, which starts \`${needed}\`, but it is not on ${whose}: its messages will fail.`,
        hint:
          here !== undefined
            ? `It is on this shell's PATH (${here}): restart the daemon from this shell (\`tinyagi stop && tinyagi start\`).`
            : `Install ${clis.find((c) => c.command === needed)?.product ?? needed}, or switch the agent: tinyagi agent provider ${id} mock`,
      });
    }
  }
  return findings;
}

/**
 * Runtime names from before 2026-11 (`provider: "anthropic"`, a custom provider's `"openai"`, …)
 * and a custom provider's old key for its runtime: they keep working, and the next change written
 * through TinyAGI renames them (core's config/runtime-names.ts); doctor never rewrites the file
 * itself.
 */
function checkRuntimeNames(settings: Settings): Finding[] {
  const old = oldRuntimeNames(settings);
  if (old.length === 0) return [];
  return [
    {
      check: 'runtime-names',
      status: 'info',
      message: `settings.json names runtimes the old way: ${old.map((o) => `${o.path} "${o.old}" (now ${o.newPath === undefined ? '' : `${o.newPath} `}"${o.new}")`).join(', ')}. They keep working.`,
      hint: 'The next settings change made through TinyAGI (tinyagi agent/provider commands, the API, TinyOffice) writes the new names; or edit them by hand.',
    },
  ];
}

/** The mock's scripted replies under their old key (`mock.rules`): still read, renamed by the next change written (core's config/mock-replies.ts). */
function checkMockReplies(settings: Settings): Finding[] {
  const old = oldMockRulesPaths(settings);
  if (old.length === 0) return [];
  return [
    {
      check: 'mock-replies',
      status: 'info',
      message: `settings.json scripts the mock under its old key: ${old.join(', ')} (now mock.replies). It keeps working.`,
      hint: 'The next settings change made through TinyAGI writes the new key; or rename it by hand.',
    },
  ];
}

/** Settings with environment overrides applied (`{}` when there is no file yet; undefined when the file is invalid). */
function loadForDoctor(ctx: CliContext): { settings: Settings | undefined; findings: Finding[]; envFailed?: boolean } {
  let settings: Settings = {};
  const findings: Finding[] = [];
  if (!existsSync(ctx.paths.settings)) {
    findings.push({ check: 'settings', status: 'info', message: `No ${ctx.paths.settings} yet; \`tinyagi start\` creates it with defaults.` });
  } else {
    try {
      settings = loadSettings(ctx.paths.settings).settings;
    } catch (err) {
      return {
        settings: undefined,
        findings: [{ check: 'settings', status: 'fail', message: errorMessage(err), hint: isTinyError(err) ? err.hint : 'Fix the file by hand; TinyAGI never rewrites it.' }],
      };
    }
    findings.push(...checkRuntimeNames(settings), ...checkMockReplies(settings));
    findings.push({
      check: 'settings',
      status: 'ok',
      message: `${ctx.paths.settings} is valid (${plural(Object.keys(settings.agents ?? {}).length, 'agent')}, ${plural(Object.keys(settings.teams ?? {}).length, 'team')})`,
    });
  }
  try {
    settings = applyEnvOverrides(settings, ctx.env).settings;
  } catch (err) {
    findings.push({ check: 'env', status: 'fail', message: errorMessage(err), hint: isTinyError(err) ? err.hint : undefined } as Finding);
    return { settings, findings, envFailed: true };
  }
  return { settings, findings };
}

function checkPermissions(ctx: CliContext, fix: boolean): Finding[] {
  const findings: Finding[] = [];
  if (existsSync(ctx.paths.settings) && (statSync(ctx.paths.settings).mode & 0o077) !== 0) {
    const f: Finding = {
      check: 'settings-perms',
      status: 'warn',
      message: `${ctx.paths.settings} is readable by other users (it holds API keys).`,
      hint: `chmod 600 ${ctx.paths.settings} (or run doctor --fix)`,
    };
    if (fix) {
      restrictToOwner(ctx.paths.settings);
      f.fixed = 'mode set to 0600';
    }
    findings.push(f);
  }
  const exposure = tokenFileExposure(ctx.paths.apiToken);
  if (ctx.env['TINYAGI_API_TOKEN']) {
    findings.push({ check: 'token', status: 'ok', message: 'API token comes from TINYAGI_API_TOKEN.' });
  } else if (exposure === undefined) {
    const f: Finding = { check: 'token', status: 'info', message: `No API token file yet (${ctx.paths.apiToken}); the first start creates it.` };
    if (fix) {
      ensureHomeDirectories(ctx.paths);
      loadOrCreateApiToken(ctx.home, ctx.env);
      f.fixed = 'created with mode 0600';
    }
    findings.push(f);
  } else if (exposure !== 0) {
    const f: Finding = {
      check: 'token',
      status: 'fail',
      message: `${ctx.paths.apiToken} is readable by other users: anyone on this machine could use your agents.`,
      hint: `chmod 600 ${ctx.paths.apiToken} (or run doctor --fix)`,
    };
    if (fix) {
      restrictToOwner(ctx.paths.apiToken);
      f.fixed = 'mode set to 0600';
      f.status = 'warn';
    }
    findings.push(f);
  } else {
    findings.push({ check: 'token', status: 'ok', message: `API token file ${ctx.paths.apiToken} (mode 0600)` });
  }
  return findings;
}

/** The database of the selected backend (SQLite by default). */
async function checkStorage(ctx: CliContext, settings: Settings | undefined, write: boolean): Promise<Finding[]> {
  // Invalid settings: TINYAGI_DATABASE_URL alone still selects.
  const selection = selectStorage(settings ?? applyEnvOverrides({}, ctx.env).settings, ctx.env, ctx.paths.db);
  if (selection.backend === 'sqlite') return checkSqliteDatabase(ctx, write);
  // Loaded only now: a SQLite installation never loads node-postgres.
  const { checkPostgres } = await import('./postgres.ts');
  return checkPostgres(selection, write, ctx.paths.db);
}

/** SQLite only: the home's database file (integrity, dead letters, drizzle's migration journal). */
function checkSqliteDatabase(ctx: CliContext, write: boolean): Finding[] {
  const exists = existsSync(ctx.paths.db);
  if (!exists && !write) return [{ check: 'database', status: 'info', message: `No database yet (${ctx.paths.db}); the first start creates it.` }];
  let before: string[] = [];
  let db: TinyDatabase | undefined;
  try {
    if (exists && write) {
      // What is recorded before this run, read without migrating, so the report names what it applied.
      const readonly = openDatabase({ path: ctx.paths.db, readonly: true });
      try {
        before = appliedMigrations(readonly.sqlite);
      } finally {
        readonly.close();
      }
    }
    db = openDatabase({ path: ctx.paths.db, readonly: !write });
    const hasQueue = db.sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").get() !== undefined;
    const dead = hasQueue ? (db.sqlite.prepare("SELECT count(*) AS n FROM messages WHERE status = 'dead'").get() as { n: number }).n : 0;
    const integrity = db.sqlite.prepare('PRAGMA quick_check').get() as Record<string, string>;
    const pending = pendingMigrations(db.sqlite);
    const applied = write ? appliedMigrations(db.sqlite).filter((m) => !before.includes(m)) : [];
    const ok = Object.values(integrity)[0] === 'ok';
    if (!ok)
      return [
        {
          check: 'database',
          status: 'fail',
          message: `${ctx.paths.db} failed its integrity check: ${JSON.stringify(integrity)}`,
          hint: 'Stop the daemon and restore the database from a backup (see docs/daemon.md#backup-and-restore).',
        },
      ];
    const f: Finding = { check: 'database', status: dead > 0 ? 'warn' : 'ok', message: `${ctx.paths.db} opens${dead > 0 ? `; ${plural(dead, 'dead letter')}` : ''}` };
    if (dead > 0) f.hint = 'See them with `tinyagi queue dead`; retry with `tinyagi queue retry <id>`.';
    if (!exists) f.fixed = 'created';
    return [f, migrationsFinding(applied, pending)];
  } catch (err) {
    return [{ check: 'database', status: 'fail', message: `Cannot open ${ctx.paths.db}: ${errorMessage(err)}`, hint: 'Check the file permissions and free disk space; see docs/troubleshooting.md.' }];
  } finally {
    db?.close();
  }
}

async function checkDaemonAndPort(ctx: CliContext, settings: Settings | undefined): Promise<Finding[]> {
  const record = readRunningDaemon(ctx.paths.lockFile);
  const server = effectiveServer(settings ?? {});
  if (record !== undefined) {
    const url = record.apiUrl ?? `http://${server.host}:${server.port}`;
    try {
      await createApiClient({ baseUrl: url }).health({ signal: AbortSignal.timeout(3000) });
      return [{ check: 'daemon', status: 'ok', message: `Daemon running (pid ${record.pid}) and answering at ${url}` }];
    } catch (err) {
      // 503 from a node that cannot keep its heartbeat (PostgreSQL): it answers, degraded.
      if (isApiError(err, 'NOT_AVAILABLE')) {
        return [{ check: 'daemon', status: 'fail', message: `Daemon running (pid ${record.pid}) at ${url} but degraded: ${err.message}`, hint: 'Check the database connection; see `tinyagi logs`.' }];
      }
      return [
        {
          check: 'daemon',
          status: 'fail',
          message: `Daemon pid ${record.pid} holds the lock but ${url} does not answer: ${errorMessage(err)}`,
          hint: 'Look at `tinyagi logs`; `tinyagi restart` restarts it.',
        },
      ];
    }
  }
  const free = await portFree(server.host, server.port);
  return [
    { check: 'daemon', status: 'info', message: 'Daemon not running.' },
    free
      ? { check: 'port', status: 'ok', message: `${server.host}:${server.port} is free` }
      : {
          check: 'port',
          status: 'fail',
          message: `${server.host}:${server.port} is used by another program, so the daemon cannot start.`,
          hint: 'Stop that program, or choose another port: set server.port in settings.json or TINYAGI_API_PORT.',
        },
  ];
}

/** Listening beyond loopback: flagged while it happens, and before a start that would refuse it. */
function checkExposure(ctx: CliContext, settings: Settings | undefined): Finding {
  const record = readRunningDaemon(ctx.paths.lockFile);
  if (record?.remote === true) {
    return {
      check: 'exposure',
      status: 'warn',
      message: `The API listens on ${record.listenHost ?? 'a non-loopback address'}, beyond loopback (remote access was enabled at start with --listen-any / ${ALLOW_REMOTE_ENV}=1): anyone who can reach this machine can try the token.`,
      hint: 'Unless you need remote access, set server.host to 127.0.0.1 and restart without --listen-any; otherwise keep it behind a firewall or a TLS proxy.',
    };
  }
  const host = effectiveServer(settings ?? {}).host;
  if (isLoopbackHost(host)) return { check: 'exposure', status: 'ok', message: `the API listens on loopback only (${host})` };
  if (remoteAllowed(ctx.env)) {
    return {
      check: 'exposure',
      status: 'warn',
      message: `server.host is ${host}: the daemon will listen beyond loopback (${ALLOW_REMOTE_ENV}=1 is set).`,
      hint: 'Make sure a firewall or a TLS proxy protects the port.',
    };
  }
  return {
    check: 'exposure',
    status: 'fail',
    message: `server.host is ${host}, beyond loopback, but remote access is not enabled: the daemon will refuse to start.`,
    hint: `Set server.host (or TINYAGI_API_HOST) to 127.0.0.1, or start with \`tinyagi start --listen-any\` (${ALLOW_REMOTE_ENV}=1) if you mean it.`,
  };
}

function checkChannels(ctx: CliContext, settings: Settings | undefined): Finding[] {
  if (settings === undefined) return [{ check: 'channels', status: 'info', message: 'Chat channels not checked: settings.json could not be read (above).' }];
  const enabled = settings.channels?.enabled ?? [];
  if (enabled.length === 0) return [{ check: 'channels', status: 'info', message: 'No chat channel enabled (tinyagi channel setup).' }];
  const findings: Finding[] = [];
  for (const name of enabled) findings.push(...checkChannelKind(name, settings));
  const runner = findChannelRunner(ctx.env);
  if ('error' in runner) {
    findings.push({
      check: 'channels:runner',
      status: 'fail',
      message: `Channels are enabled but will not start: ${runner.error}.`,
      hint: 'Install @tinyagi/channels next to the CLI, or point TINYAGI_CHANNEL_RUNNER at its runner.',
    });
  }
  return findings;
}

/** An enabled channel: its kind is registered, and every secret it declares is set (the environment's bindings applied). */
function checkChannelKind(name: string, settings: Settings): Finding[] {
  const check = `channel:${name}`;
  const kind = channelKinds.get(name);
  if (kind === undefined) {
    return [{ check, status: 'fail', message: `Unknown channel "${name}" in channels.enabled.`, hint: `Use ${channelKinds.names().join(', ')} (or load the plugin that adds ${name}).` }];
  }
  const block = settings.channels?.[name];
  const required = requiredChannelSecrets(kind, block);
  const missing = required.filter((path) => {
    const value = path.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), block);
    return typeof value !== 'string' || value === '';
  });
  if (missing.length > 0) {
    return missing.map((path): Finding => {
      const variable = kind.env.find((e) => e.path === path)?.variable;
      return {
        check,
        status: 'fail',
        message: `${name} is enabled but has no ${path.replaceAll('_', ' ')}.`,
        hint: `tinyagi channel setup ${channelSecretFlag(name, path)} <value>${variable ? ` (or set ${variable})` : ''}`,
      };
    });
  }
  if (kind.login === 'qr') return [{ check, status: 'ok', message: `${name} needs no token (link it by QR code: tinyagi channel login ${name})` }];
  const secrets = required.map((path) => path.replaceAll('_', ' ')).join(', ');
  return [{ check, status: 'ok', message: secrets === '' ? `${name} needs no secret` : `${name} ${secrets} ${required.length === 1 ? 'is' : 'are'} set` }];
}

/**
 * What the running daemon says of its channels: a channel it could not start (no runner where
 * the daemon looks, a crash loop) is named with the daemon's reason, which may differ from what
 * this shell finds.
 */
async function checkRunningChannels(ctx: CliContext, settings: Settings | undefined): Promise<Finding[]> {
  if ((settings?.channels?.enabled ?? []).length === 0 || readRunningDaemon(ctx.paths.lockFile) === undefined) return [];
  const connection = findDaemon(ctx);
  if (connection === undefined) return [];
  let channels: Awaited<ReturnType<typeof connection.client.listChannels>>;
  try {
    channels = await connection.client.listChannels({ signal: AbortSignal.timeout(3000) });
  } catch (err) {
    return [{ check: 'channels:daemon', status: 'info', message: `Could not ask the daemon for its channels: ${errorMessage(err)}` }];
  }
  return channels.filter((c) => c['enabled'] === true).map(channelFinding);
}

/** ✔ only for a channel the platform answered (docs/channels.md#channel-states); anything else ✗ with its reason and what to do. */
function channelFinding(c: ChannelStatus): Finding {
  const check = `channel:${c.name}:daemon`;
  const state = channelStateText(c);
  if (c.state === 'connected') return { check, status: 'ok', message: `${c.name} is connected (pid ${c.pid ?? '-'})` };
  // reconnecting and rejected carry their error in the state's words.
  const reason = c.lastError && c.state !== 'reconnecting' && c.state !== 'rejected' ? `: ${c.lastError}` : '';
  const hints: Record<string, string> = {
    connecting: `The platform has not answered yet. Run \`tinyagi doctor\` again in a few seconds; if it stays connecting, look at \`tinyagi logs ${c.name}\`.`,
    reconnecting: `Check that this machine reaches the platform (network, proxy, firewall) and that the ${c.name} settings are right (\`tinyagi channel setup\`); \`tinyagi logs ${c.name}\` has every attempt.`,
    rejected: `Its credentials were refused: this is not the network. Set the right ones (\`tinyagi channel setup\`, as the error says); the channel then starts again by itself.`,
    stopped: `Start it: \`tinyagi channel start ${c.name}\`.`,
    not_installed: 'Install @tinyagi/channels next to the CLI, then `tinyagi restart`.',
  };
  return {
    check,
    status: 'fail',
    message: `${c.name} is ${state} in the running daemon, not connected${reason}.`,
    hint: hints[c.state ?? 'stopped'] ?? `Look at its log: \`tinyagi logs ${c.name}\`.`,
  };
}

async function checkWorkspaces(ctx: CliContext, settings: Settings | undefined, fix: boolean): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const id of Object.keys(settings?.agents ?? {})) {
    let dir: string;
    try {
      dir = agentWorkspaceDir(settings ?? {}, id, ctx.env);
    } catch (err) {
      findings.push({ check: `workspace:${id}`, status: 'fail', message: errorMessage(err) });
      continue;
    }
    if (existsSync(dir)) continue;
    const f: Finding = {
      check: `workspace:${id}`,
      status: 'warn',
      message: `The workspace of "${id}" (${dir}) does not exist yet.`,
      hint: 'It is created on the first message, or now with doctor --fix.',
    };
    if (fix) {
      await provisionWorkspace({ dir, agentId: id });
      f.fixed = 'provisioned';
    }
    findings.push(f);
  }
  if (findings.length === 0 && Object.keys(settings?.agents ?? {}).length > 0) findings.push({ check: 'workspaces', status: 'ok', message: 'every agent workspace exists' });
  return findings;
}

export async function runDoctor(ctx: CliContext, options: DoctorOptions): Promise<Finding[]> {
  const { settings, findings: settingsFindings, envFailed } = loadForDoctor(ctx);
  const write = options.fix || options.migrate === true;
  return [
    checkNode(),
    ...settingsFindings,
    ...checkAgentClis(ctx, settings),
    ...checkCodexProviders(ctx, settings),
    ...checkSandboxLogins(settings, daemonEnvironment(ctx).env),
    ...(await checkAcpAgentsOf(ctx, settings)),
    ...(await checkCliVersions(settings, agentCliPath(ctx).path, agentCliPath(ctx).whose)),
    ...checkPermissions(ctx, options.fix),
    ...(envFailed
      ? [
          {
            check: 'database',
            status: 'info' as const,
            message: `Database not checked: the environment overrides are invalid (above); without them it would be ${describeStorage(selectStorage(settings ?? {}, ctx.env, ctx.paths.db))}.`,
          },
        ]
      : await checkStorage(ctx, settings, write)),
    ...(await checkDaemonAndPort(ctx, settings)),
    checkExposure(ctx, settings),
    ...checkChannels(ctx, settings),
    ...(await checkRunningChannels(ctx, settings)),
    ...(await checkWorkspaces(ctx, settings, options.fix)),
    ...(await checkSandbox(ctx, settings, daemonEnvironment(ctx).env)),
    ...heldFindings(settings, daemonEnvironment(ctx).env),
    ...(await checkEmbeddings(settings, daemonEnvironment(ctx).env)),
    officeCheck(),
    snapshotCheck(options.fix),
  ];
}

/** The daemon's start-up snapshot (daemon/launch.ts): `--fix` builds a missing one. */
function snapshotCheck(fix: boolean): Finding {
  let state = snapshotState();
  if (state.state === 'missing' && fix) {
    daemonSnapshot({ build: true });
    const after = snapshotState();
    if (after.state === 'ready') return { check: 'snapshot', status: 'ok', message: `The daemon starts from its start-up snapshot (${after.blob}).`, fixed: 'built the start-up snapshot' };
    state = after;
  }
  switch (state.state) {
    case 'ready':
      return { check: 'snapshot', status: 'ok', message: `The daemon starts from its start-up snapshot (${state.blob}).` };
    case 'missing':
      return {
        check: 'snapshot',
        status: 'info',
        message: `The daemon's start-up snapshot for node ${process.version} is built at the next start (once, about a second).`,
        hint: 'Build it now with `tinyagi doctor --fix`.',
      };
    case 'failed':
      return {
        check: 'snapshot',
        status: 'warn',
        message: `The daemon's start-up snapshot for node ${process.version} failed, so the daemon loads its modules at every start (slower): ${state.reason.split('\n').find((l) => /error|died/i.test(l)) ?? state.reason.split('\n')[0]}`,
        hint: `The whole reason is in ${state.blob}.failed; delete that file to try again at the next start.`,
      };
    default:
      return { check: 'snapshot', status: 'info', message: `The daemon's start-up snapshot is not used: ${state.reason}.` };
  }
}

function officeCheck(): Finding {
  switch (tinyOfficeState()) {
    case 'built':
      return { check: 'office', status: 'ok', message: 'TinyOffice is available (tinyagi office)' };
    case 'unbuilt':
      return { check: 'office', status: 'warn', message: `TinyOffice is in this checkout but not built, so \`tinyagi office\` cannot open it: ${BUILD_OFFICE}.` };
    default:
      return { check: 'office', status: 'info', message: 'TinyOffice is not part of this installation.' };
  }
}
