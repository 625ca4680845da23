/**
 * Which account an invocation spends: the runtime's name and a fingerprint of the credentials
 * its target carries (API key, OAuth token, base URL, the CLI's config home such as
 * CLAUDE_CONFIG_DIR or CODEX_HOME). Two agents on the same login share one account, so a
 * quota one of them exhausts holds both (quotas/board.ts). Only a hash is kept: the secret
 * itself is never stored nor shown.
 */
import { createHash } from 'node:crypto';
import type { InvokeTarget } from '../invoker/types.ts';

export interface QuotaAccount {
  /** `<runtime>:<12 hex digits>` (or `<runtime>:default` for a runtime's ambient login). */
  key: string;
  runtime: string;
  /** For people: the runtime, the provider when it differs, and the short fingerprint. */
  label: string;
}

/** Environment names that say which account a CLI uses (credentials, endpoints, config homes). */
const ACCOUNT_ENV = /KEY|TOKEN|SECRET|PASSWORD|AUTH|BASE_URL|ENDPOINT|CONFIG_DIR|_HOME$|PROFILE|PROJECT|ORG|ACCOUNT|REGION/i;

/** The account `target` runs on. */
export function quotaAccount(target: Pick<InvokeTarget, 'runtime' | 'provider' | 'env' | 'apiKey' | 'baseUrl' | 'mock'>): QuotaAccount {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(target.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ACCOUNT_ENV.test(name) && value !== '') parts.push(`env:${name}=${value}`);
  }
  if (target.apiKey) parts.push(`apiKey=${target.apiKey}`);
  if (target.baseUrl) parts.push(`baseUrl=${target.baseUrl}`);
  // The mock runtime's scripted account (quota tests and demos).
  const mockAccount = (target.mock as { account?: unknown } | undefined)?.account;
  if (typeof mockAccount === 'string' && mockAccount !== '') parts.push(`mock=${mockAccount}`);
  const runtime = target.runtime;
  const fingerprint =
    parts.length === 0
      ? 'default'
      : createHash('sha256')
          .update(`${runtime}\n${parts.join('\n')}`)
          .digest('hex')
          .slice(0, 12);
  const provider = target.provider && target.provider !== runtime ? ` (${target.provider})` : '';
  return { key: `${runtime}:${fingerprint}`, runtime, label: `${runtime}${provider} · ${fingerprint === 'default' ? 'default login' : fingerprint}` };
}
