/**
 * Version awareness of the agent CLIs (docs/agent-clis.md#cli-versions). Each CLI runtime has
 * the versions we verified (the real-CLI suite's pins, packages/real-cli-test/clis/package.json) and
 * the way to ask the CLI its version. `cliVersion` runs `<command> --version` (an argument array,
 * no shell, a short timeout), parses it and compares it with the range; the answer is cached per
 * resolved path and modification time, so asking again after an upgrade asks the new binary.
 * The daemon asks once at start (a warning in its log when out of range), `tinyagi doctor` reports
 * it with what to do, and runtime code can choose flags by version (`cliSupports`).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** What we verified of one CLI and how to ask it. */
export interface CliVersionSpec {
  /** The product, for messages. */
  product: string;
  /** The version the real-CLI suite pins (tested end to end). */
  pinned: string;
  /** Versions taken as verified: at least `min`, below `below` (the pinned minor's later patches). */
  min: string;
  below: string;
  /** The arguments that make it print its version. */
  versionArgs: readonly string[];
  /** Features the runtimes choose by version: the first version known to have each (docs/agent-clis.md#cli-versions). */
  features: Readonly<Record<string, string>>;
  /** How to install the pinned version. */
  install: string;
}

/**
 * The built-in CLI runtimes (keyed by runtime name). Feature versions are the first version we
 * ran each feature on (the pins): older CLIs may have them too, but were not checked.
 */
export const CLI_VERSION_SPECS: Readonly<Record<string, CliVersionSpec>> = {
  'claude-code': {
    product: 'Claude Code',
    pinned: '2.1.330',
    min: '2.1.330',
    below: '2.2.0',
    versionArgs: ['--version'],
    features: {
      // `-p --output-format stream-json --verbose`, `--resume`, `--dangerously-skip-permissions` (spawn per message)
      'stream-json': '2.1.330',
      // one warm process: `--input-format stream-json`, control requests on stdin (warm sessions)
      'stream-json-input': '2.1.330',
      // `rate_limit_event` in the stream (quota-aware scheduling)
      'rate-limit-event': '2.1.330',
      // `--permission-prompt-tool stdio` (can_use_tool requests on the pipes)
      'permission-prompt-stdio': '2.1.330',
    },
    install: 'npm install -g @anthropic-ai/claude-code@2.1.330',
  },
  codex: {
    product: 'Codex',
    pinned: '0.169.0',
    min: '0.169.0',
    below: '0.170.0',
    versionArgs: ['--version'],
    features: {
      // `codex exec --json`, `codex exec resume` (spawn per message)
      'exec-json': '0.169.0',
      // `codex app-server` JSON-RPC: thread/start|resume, turn/start|steer|interrupt (warm sessions)
      'app-server': '0.169.0',
      // rate-limit notifications of the app-server (quota-aware scheduling)
      'rate-limit-notifications': '0.169.0',
    },
    install: 'npm install -g @openai/codex@0.169.0',
  },
  opencode: {
    product: 'OpenCode',
    pinned: '1.18.33',
    min: '1.18.33',
    below: '1.19.0',
    versionArgs: ['--version'],
    features: {
      // `opencode run --format json`, `--session` (spawn per message)
      'run-json': '1.18.33',
      // `opencode acp`: ACP session/new|load|prompt|cancel (warm sessions)
      acp: '1.18.33',
    },
    install: 'npm install -g opencode-ai@1.18.33',
  },
};

export type CliVersionStatus = 'ok' | 'too_old' | 'too_new' | 'unparseable' | 'not_found' | 'failed';

export interface CliVersionInfo {
  runtime: string;
  /** The command as configured (`claude`, or a path). */
  command: string;
  /** Where it was found (resolved through symlinks), when it was. */
  path: string | null;
  /** `2.1.330`, when the output could be read. */
  version: string | null;
  /** The first line the CLI printed (for unparseable output). */
  raw: string;
  status: CliVersionStatus;
  /** `>=2.1.330 <2.2.0`. */
  verified: string;
  /** One line for people: what was found. */
  message: string;
  /** What to do, when the status is not ok. */
  hint?: string;
}

/** The version in a CLI's `--version` output: `2.1.330 (Claude Code)`, `codex-cli 0.169.0`, `1.18.33`. */
export function parseCliVersion(output: string): string | undefined {
  return /(?:^|[^\d.])(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?![\d.])/.exec(output)?.[1];
}

/** Semantic-version order (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = '', pre] = v.split('-', 2) as [string, string | undefined];
    return { nums: core.split('.').map(Number), pre };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** Whether `version` of the runtime's CLI has `feature` (unknown runtime or feature: false). */
export function cliSupports(runtime: string, version: string | null | undefined, feature: string): boolean {
  const since = CLI_VERSION_SPECS[runtime]?.features[feature];
  return since !== undefined && typeof version === 'string' && compareVersions(version, since) >= 0;
}

/** Compares a version with the runtime's verified range and says what to do. */
export function judgeCliVersion(runtime: string, command: string, path: string | null, raw: string): CliVersionInfo {
  const spec = CLI_VERSION_SPECS[runtime];
  const verified = spec ? `>=${spec.min} <${spec.below}` : '';
  const version = parseCliVersion(raw) ?? null;
  const product = spec?.product ?? runtime;
  const base = { runtime, command, path, version, raw: raw.split('\n')[0]!.trim().slice(0, 200), verified };
  if (!spec) return { ...base, status: 'ok', message: `${product} ${version ?? '(version unknown)'}: no verified range` };
  if (version === null) {
    return {
      ...base,
      status: 'unparseable',
      message: `${product} at ${path ?? command} printed no version we can read (\`${[command, ...spec.versionArgs].join(' ')}\`: "${base.raw}").`,
      hint: `Check that \`${command}\` is ${product}; the verified version is ${spec.pinned} (${spec.install}).`,
    };
  }
  if (compareVersions(version, spec.min) < 0) {
    return {
      ...base,
      status: 'too_old',
      message: `${product} ${version} is older than the versions TinyAGI was verified with (${verified}).`,
      hint: `Upgrade it: ${spec.install}. Older versions may lack flags and protocol features TinyAGI uses (docs/agent-clis.md#cli-versions).`,
    };
  }
  if (compareVersions(version, spec.below) >= 0) {
    return {
      ...base,
      status: 'too_new',
      message: `${product} ${version} is newer than the versions TinyAGI was verified with (${verified}).`,
      hint: `It may work; if its agents fail with unknown flags or stream errors, install the verified version (${spec.install}) and report the version.`,
    };
  }
  return { ...base, status: 'ok', message: `${product} ${version} (verified: ${verified})` };
}

export interface CliVersionOptions {
  /** PATH to look the command up on (default: process.env.PATH). */
  path?: string | undefined;
  /** Environment of the probe (default: PATH and HOME only). */
  env?: Record<string, string>;
  /** Default 10 s (a CLI's first start can be slow on a loaded machine). */
  timeoutMs?: number;
}

const cache = new Map<string, Promise<CliVersionInfo>>();

/**
 * Asks the runtime's CLI its version. Never throws: a missing CLI, a failed or timed-out probe
 * are statuses. Cached per resolved path and modification time.
 */
export async function cliVersion(runtime: string, command: string, options: CliVersionOptions = {}): Promise<CliVersionInfo> {
  const spec = CLI_VERSION_SPECS[runtime];
  const verified = spec ? `>=${spec.min} <${spec.below}` : '';
  const product = spec?.product ?? runtime;
  const found = resolveCommand(command, options.path ?? process.env.PATH ?? '');
  if (found === undefined) {
    return {
      runtime,
      command,
      path: null,
      version: null,
      raw: '',
      status: 'not_found',
      verified,
      message: `${product} (\`${command}\`) was not found.`,
      ...(spec ? { hint: `Install it: ${spec.install}` } : {}),
    };
  }
  let key: string;
  try {
    key = `${runtime}\0${found.real}\0${statSync(found.real).mtimeMs}`;
  } catch {
    key = `${runtime}\0${found.real}\0?`;
  }
  let pending = cache.get(key);
  if (!pending) {
    pending = probe(runtime, command, found.path, spec?.versionArgs ?? ['--version'], options);
    cache.set(key, pending);
    // A probe that failed (a timeout on a loaded machine) is asked again next time.
    void pending.then((info) => {
      if (info.status === 'failed') cache.delete(key);
    });
  }
  return pending;
}

function probe(runtime: string, command: string, path: string, args: readonly string[], options: CliVersionOptions): Promise<CliVersionInfo> {
  const env = options.env ?? { PATH: options.path ?? process.env.PATH ?? '', ...(process.env.HOME ? { HOME: process.env.HOME } : {}) };
  return new Promise((resolve) => {
    execFile(path, [...args], { env, timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const out = `${stdout}`.trim() || `${stderr}`.trim();
      if (err && parseCliVersion(out) === undefined) {
        const product = CLI_VERSION_SPECS[runtime]?.product ?? runtime;
        const timedOut = (err as { killed?: boolean }).killed === true;
        resolve({
          runtime,
          command,
          path,
          version: null,
          raw: out.split('\n')[0]?.slice(0, 200) ?? '',
          status: 'failed',
          verified: CLI_VERSION_SPECS[runtime] ? `>=${CLI_VERSION_SPECS[runtime].min} <${CLI_VERSION_SPECS[runtime].below}` : '',
          message: `${product} at ${path}: \`${[command, ...args].join(' ')}\` ${timedOut ? 'did not answer in time' : `failed (${err.message.split('\n')[0]})`}.`,
          hint: `Run \`${[command, ...args].join(' ')}\` yourself to see why; a CLI that cannot print its version will not run agents either.`,
        });
        return;
      }
      resolve(judgeCliVersion(runtime, command, path, out));
    });
  });
}

/** The command's file: a path as given (must be absolute), else the first executable on PATH; `real`: symlinks resolved (the cache key). */
function resolveCommand(command: string, path: string): { path: string; real: string } | undefined {
  const candidates = isAbsolute(command)
    ? [command]
    : command.includes('/')
      ? []
      : path
          .split(delimiter)
          .filter((d) => d !== '')
          .map((d) => join(d, command));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return { path: candidate, real: realpathSync(candidate) };
    } catch {
      // not here
    }
  }
  return undefined;
}
