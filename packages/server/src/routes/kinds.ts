/**
 * The registered kinds of channels and runtimes (TinyOffice builds its forms from them). A CLI
 * runtime also says whether its command is installed on the daemon's machine (`cli`).
 */
import { kindsInfo, runtimeCliPresence } from '../core-internal.ts';
import type { RouteHandlers } from '../routing.ts';
import type { kindsContract } from '@tinyagi/client/contract';

export function kindRoutes(env: Readonly<Record<string, string | undefined>> = process.env): RouteHandlers<keyof typeof kindsContract> {
  return {
    listKinds: () => {
      const kinds = kindsInfo();
      return {
        ...kinds,
        runtimes: kinds.runtimes.map((runtime) => {
          const cli = runtimeCliPresence(runtime, env);
          return cli === undefined ? runtime : { ...runtime, cli };
        }),
      };
    },
  };
}
