/**
 * A node's name on a PostgreSQL database (docs/postgresql.md#registry-and-heartbeat): `tinyagi
 * worker --name`, else TINYAGI_NODE_NAME, else `node.name` of the home's settings, else the host
 * name (the registry's default). Read where the node joins (cluster.ts) and where doctor asks
 * whether an agent placed on a node runs here.
 */
import { hostname } from 'node:os';
import type { Settings } from '@tinyagi/core';
import type { Env } from '../core-internal.ts';

export const NODE_NAME_ENV = 'TINYAGI_NODE_NAME';

/** The name given (flag, environment, settings), or undefined for the registry's default (the host name). */
export function givenNodeName(settings: Settings, env: Env, flag?: string): string | undefined {
  return flag ?? env[NODE_NAME_ENV] ?? (settings as { node?: { name?: string } }).node?.name;
}

/** This home's node name as the node would register it. */
export function nodeName(settings: Settings, env: Env, flag?: string): string {
  return givenNodeName(settings, env, flag) ?? hostname();
}
