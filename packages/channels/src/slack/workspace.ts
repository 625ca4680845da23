/**
 * The bot's own workspace, and the check that an event or interaction is of it. An app installed
 * in several workspaces receives all their events on one connection: over HTTP at one Request URL
 * signed with one signing secret, over Socket Mode on one app-level token. The bot token answers
 * in its own workspace only (or its org, for an org-wide install), so what another workspace sends
 * is dropped, logged once per workspace.
 */
export interface SlackWorkspace {
  teamId: string;
  enterpriseId?: string | undefined;
  /** Installed for the whole org (auth.test `is_enterprise_install`): events of each of its workspaces are the bot's. */
  enterpriseInstall?: boolean | undefined;
}

export class SlackWorkspaceFilter {
  #own: SlackWorkspace | undefined;
  /** `event T…` / `interaction T…` already logged as dropped. */
  readonly #refused = new Set<string>();

  readonly #log: (level: 'warn', message: string) => void;

  constructor(log: (level: 'warn', message: string) => void) {
    this.#log = log;
  }

  /** From auth.test, once the bot token is known; until then everything is taken. */
  acceptOnly(workspace: SlackWorkspace): void {
    this.#own = workspace;
  }

  /**
   * True when no workspace is set, or the payload (an `event_callback` body or an interactivity
   * payload) names the bot's.
   */
  accepts(body: Record<string, unknown>): boolean {
    const own = this.#own;
    if (own === undefined) return true;
    const byOrg = own.enterpriseInstall === true && own.enterpriseId !== undefined;
    const given = byOrg ? (textOf(body.enterprise_id) ?? idOf(body.enterprise)) : (textOf(body.team_id) ?? idOf(body.team));
    if (given === (byOrg ? own.enterpriseId : own.teamId)) return true;
    const who = given ?? 'none named';
    const what = body.type === 'event_callback' ? 'event' : 'interaction';
    if (!this.#refused.has(`${what} ${who}`)) {
      this.#refused.add(`${what} ${who}`);
      this.#log(
        'warn',
        `slack events: dropped an ${what} of another ${byOrg ? 'org' : 'workspace'} (${who}; the bot's is ${byOrg ? own.enterpriseId : own.teamId}); its further ${what}s are dropped without a word`,
      );
    }
    return false;
  }
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `{ id: "T…" }` → "T…" (an interaction's `team`, `enterprise`; null for none). */
function idOf(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? textOf((value as { id?: unknown }).id) : undefined;
}
