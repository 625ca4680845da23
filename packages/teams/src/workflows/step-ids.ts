/**
 * Step identity (docs/workflows.md, "Step ids"): a step's id is where its call is in the program,
 * so the same call gets the same id on every replay.
 * - Each scope counts its calls: the n-th call of kind k is `<n>:<k>` (`3:agent`).
 * - `parallel`, `map` and `pipeline` open a scope per branch under their own id
 *   (`2:parallel[1]/1:agent`): branches that run at once keep their ids whatever finishes first.
 * - A named call is `<name>` in its scope (`2:map[0]/review`), then `<name>#2`, … when the name
 *   comes again; named calls do not move the counter, so adding them leaves the others' ids alone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class StepScope {
  readonly prefix: string;
  #calls = 0;
  readonly #names = new Map<string, number>();

  constructor(prefix = '') {
    this.prefix = prefix;
  }

  /** The id of the next call of `kind` in this scope (a name, when the program gave one). */
  next(kind: string, name?: string): string {
    if (name !== undefined) {
      const seen = (this.#names.get(name) ?? 0) + 1;
      this.#names.set(name, seen);
      return `${this.prefix}${seen === 1 ? name : `${name}#${seen}`}`;
    }
    this.#calls += 1;
    return `${this.prefix}${this.#calls}:${kind}`;
  }

  /** The scope of branch `index` of the group `id`. */
  static branch(id: string, index: number): StepScope {
    return new StepScope(`${id}[${index}]/`);
  }
}

/** A step name: text without the characters ids are built with. */
export function checkStepName(name: string): string {
  if (name.length === 0 || name.length > 100 || /[/[\]#]/.test(name) || /^\d+:/.test(name)) {
    throw new TypeError(`A step name is 1-100 characters without "/", "[", "]" or "#", and does not start with "<digits>:" (got ${JSON.stringify(name)}).`);
  }
  return name;
}

/** The scope the calls of the running branch belong to (AsyncLocalStorage follows each branch through its awaits). */
export const currentScope = new AsyncLocalStorage<StepScope>();
