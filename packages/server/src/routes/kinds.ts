/** The registered kinds of channels and runtimes (TinyOffice builds its forms from them). */
import { kindsInfo } from '@tinyagi/core/internal';
import type { RouteHandlers } from '../routing.ts';
import type { kindsContract } from '@tinyagi/client/contract';

export function kindRoutes(): RouteHandlers<keyof typeof kindsContract> {
  return { listKinds: () => kindsInfo() };
}
