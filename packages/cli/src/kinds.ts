/**
 * Registers the kinds built into the product in core's registries, once per process: every
 * `tinyagi` process does it before it reads settings or builds its commands (program.ts,
 * daemon/run-entry.ts), so settings validation, doctor, help texts and the API all see them.
 * A library user of @tinyagi/server or core registers the kinds it wants itself (docs/kinds.md).
 */
import { registerBuiltinChannelKinds } from '@tinyagi/channels/kinds';
import { channelKinds } from '@tinyagi/core';

let registered = false;

export function registerBuiltinKinds(): void {
  if (registered) return;
  registered = true;
  registerBuiltinChannelKinds((kind) => channelKinds.register(kind));
}

/**
 * The `tinyagi channel setup` flag that sets a secret of a channel kind: `--telegram-token` for
 * a `bot_token`, `--<name>-<path in kebab case>` for any other (`--matrix-access-key`).
 */
export function channelSecretFlag(kind: string, path: string): string {
  return path === 'bot_token' ? `--${kind}-token` : `--${kind}-${path.replaceAll(/[._]/g, '-')}`;
}
