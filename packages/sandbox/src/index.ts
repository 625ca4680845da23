/**
 * @tinyagi/sandbox: the boundary of a sandboxed agent (docs/sandbox.md; design:
 * docs/sandbox-design.md). It knows bubblewrap, namespaces, cgroups, sockets and HTTP; it knows
 * nothing of settings, the queue or the stores: core reads the settings into a `SandboxSpec`,
 * makes each node's `SandboxHost` with the runtimes' CLI homes and starts the proxies with what
 * they ask.
 */
export { BRANCH_MARKER, IDENTITY_MARKER, SANDBOX_LOCK_REASON, SETUP_MARKER, TASK_MARKER } from './admin-markers.ts';
export { joinTools } from './agent-net.ts';
export {
  Boundary,
  type BoundaryDecision,
  boundaryEnforced,
  bwrapArgs,
  type HiddenPathsInput,
  hiddenInSandbox,
  hiddenPaths,
  KERNEL_PATHS,
  SANDBOX_INIT,
  type WrappedSpawn,
} from './boundary.ts';
export { cgroupLimitBytes, memoryCgroupBase } from './cgroup.ts';
export { EgressProxy, type EgressAnswer, type EgressAsk, type EgressSettings } from './egress-proxy.ts';
export { gitWorktreeMounts, WorktreeHolds } from './git-worktree.ts';
export { SandboxHost, type SandboxHostOptions, type SandboxHostResources } from './host.ts';
export { LOOPBACK_HOSTS } from './loopback-hosts.ts';
export { findBwrap, type MachineCheck, quickCheck } from './machine.ts';
export { modelPrice } from './model-prices.ts';
export { type BudgetQuery, type MeteredCall, type MeteredSpend, ModelProxy } from './model-proxy.ts';
export { DEFAULT_BASE_URLS, type ModelUpstream } from './model-upstream.ts';
export { MIN_ERROR_HOLD_MS, type QuotaReport } from './quota-report.ts';
export { quotaReportOf } from './rate-limit-headers.ts';
export { SandboxRefusal } from './refusal.ts';
export { KERNEL_WRITE_PROBES, runSelfTest, type SelfTestOptions } from './self-test.ts';
export { DEFAULT_SANDBOX_MEMORY_MB, MODEL_PORT, type SandboxSpec, sandboxRunDir } from './spec.ts';
