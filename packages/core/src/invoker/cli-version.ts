/**
 * Version awareness of the agent CLIs (docs/agent-clis.md#cli-versions). Each CLI runtime's kind has
 * the versions we verified (`verifiedVersions`: the real-CLI suite's pins, packages/real-cli-test/clis/package.json) and
 * the way to ask the CLI its version. `cliVersion` runs `<command> --version` (an argument array,
 * no shell, a short timeout), parses it and compares it with the range; the answer is cached per
 * resolved path and modification time, so asking again after an upgrade asks the new binary.
 * The daemon asks once at start (a warning in its log when out of range), `tinyagi doctor` reports
 * it with what to do, and runtime code can choose flags by version (`cliSupports`).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { RuntimeVerifiedVersions } from '@tinyagi/client/contract';
import { runtimeKinds } from '../kinds/runtimes/index.ts';

/** What we verified of one CLI and how to ask it: its runtime kind's `verifiedVersions`, and the product's name (the kind's title). */
export interface CliVersionSpec extends RuntimeVerifiedVersions {
  /** The product, for messages. */
  product: string;
}

/**
 * The verified versions of the runtime's CLI (docs/kinds.md: each CLI runtime's descriptor
 * carries them, the built-ins' are the real-CLI suite's pins); undefined for a runtime that
 * declares none (HTTP runtimes, mock, acp, most plugins).
 */
export function cliVersionSpec(runtime: string): CliVersionSpec | undefined {
  const kind = runtimeKinds.get(runtime);
  return kind?.verifiedVersions === undefined ? undefined : { ...kind.verifiedVersions, product: kind.title };
}

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
  const since = cliVersionSpec(runtime)?.features[feature];
  return since !== undefined && typeof version === 'string' && compareVersions(version, since) >= 0;
}

/** Compares a version with the runtime's verified range and says what to do. */
export function judgeCliVersion(runtime: string, command: string, path: string | null, raw: string): CliVersionInfo {
  const spec = cliVersionSpec(runtime);
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
  const spec = cliVersionSpec(runtime);
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
    pending = probe(runtime, command, found.path, spec, options);
    cache.set(key, pending);
    // A probe that failed (a timeout on a loaded machine) is asked again next time.
    void pending.then((info) => {
      if (info.status === 'failed') cache.delete(key);
    });
  }
  return pending;
}

function probe(runtime: string, command: string, path: string, spec: CliVersionSpec | undefined, options: CliVersionOptions): Promise<CliVersionInfo> {
  const args = spec?.versionArgs ?? ['--version'];
  const env = options.env ?? { PATH: options.path ?? process.env.PATH ?? '', ...(process.env.HOME ? { HOME: process.env.HOME } : {}) };
  return new Promise((resolve) => {
    execFile(path, [...args], { env, timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const out = `${stdout}`.trim() || `${stderr}`.trim();
      if (err && parseCliVersion(out) === undefined) {
        const product = spec?.product ?? runtime;
        const timedOut = (err as { killed?: boolean }).killed === true;
        resolve({
          runtime,
          command,
          path,
          version: null,
          raw: out.split('\n')[0]?.slice(0, 200) ?? '',
          status: 'failed',
          verified: spec ? `>=${spec.min} <${spec.below}` : '',
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
