/**
 * The sandbox host as core makes it (@tinyagi/sandbox `SandboxHost`; docs/sandbox-design.md, "The
 * sandbox host"): its boundaries hide the CLI homes of every runtime in core's registry (plugins'
 * included, read at each start). Each node makes one (`sandboxHost`) and closes it when it stops;
 * the invoker's and a task's confined starts take the node's host from their caller, and a caller
 * without one (a library's `invokeAgent`, a test) gets a `oneStart` host per start, closed when
 * that start's process is released. The self-test and `hiddenInSandbox` here are the sandbox's own
 * with the registry's CLI homes.
 */
import type { RuntimeHome } from '@tinyagi/client/contract';
import { type HiddenPathsInput, hiddenInSandbox as hiddenIn, type MachineCheck, runSelfTest as selfTest, SandboxHost, type SandboxHostOptions, type SelfTestOptions } from '@tinyagi/sandbox';
import { runtimeKinds } from '../kinds/runtimes/index.ts';

/** The CLI homes of the runtimes registered now (their descriptors' `home`). */
export function runtimeCliHomes(): RuntimeHome[] {
  return runtimeKinds.list().flatMap((kind) => (kind.home ? [kind.home] : []));
}

/** A sandbox host that hides the registry's CLI homes: a node's (closed by the node), or `oneStart` for a caller without one. */
export function sandboxHost(options: Omit<SandboxHostOptions, 'runtimeHomes'> = {}): SandboxHost {
  return new SandboxHost({ ...options, runtimeHomes: runtimeCliHomes });
}

/** The boundary's self-test on `host`, or without one on a host made for the test and closed after it. */
export async function runSelfTest(opts: Omit<SelfTestOptions, 'host'> & { host?: SandboxHost | undefined }): Promise<MachineCheck> {
  const host = opts.host ?? sandboxHost();
  try {
    return await selfTest({ ...opts, host });
  } finally {
    if (opts.host === undefined) await host.close();
  }
}

/** The folder that hides `path` in an agent's sandbox (@tinyagi/sandbox `hiddenInSandbox`), the registry's CLI homes among them. */
export function hiddenInSandbox(path: string, opts: Omit<HiddenPathsInput, 'cliHomes'>): string | undefined {
  return hiddenIn(path, { ...opts, cliHomes: runtimeCliHomes() });
}
