/**
 * The contract's zod schemas, loaded lazily: zod and the schemas are ~40 KiB gzipped, and only
 * the forms need them (to check input before it is sent). A form calls `useContract()` when it
 * mounts, which starts the one download for the whole tab; a submit before it has arrived awaits
 * `loadContract()`. Nothing else may import `@tinyagi/client/contract` statically (types are fine:
 * `import type` is erased), or every route that imports it pays for zod on first load again.
 */
import { useEffect, useState } from 'react';

export type Contract = typeof import('@tinyagi/client/contract');

let loaded: Contract | null = null;
let loading: Promise<Contract> | null = null;

/** The contract module; one request per tab. A failed load (e.g. the network) is retried on the next call. */
export function loadContract(): Promise<Contract> {
  if (loaded) return Promise.resolve(loaded);
  loading ??= import('@tinyagi/client/contract').then(
    (module) => {
      loaded = module;
      return module;
    },
    (err: unknown) => {
      loading = null;
      throw err;
    },
  );
  return loading;
}

/** The contract once loaded (null until then), and why it could not be loaded, if it could not. */
export function useContract(): { contract: Contract | null; error: unknown } {
  const [contract, setContract] = useState<Contract | null>(loaded);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (contract) return;
    let live = true;
    loadContract().then(
      (module) => live && setContract(module),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [contract]);
  return { contract, error };
}
