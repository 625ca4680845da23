/**
 * One registry per family of kinds (docs/kinds.md). A kind registers itself once, by name; every
 * list that used to be kept by hand reads the registry instead. Registration returns a function
 * that removes the kind again (tests, plugins unloading), restoring what it replaced.
 *
 * The registries are process-wide on purpose: a kind is a property of the code that is loaded
 * (a channel's package, a plugin), not of one daemon or one database.
 */
import { KIND_NAME_PATTERN, type ChannelKind, type Kind, type RuntimeKind } from '@tinyagi/client/contract';
import { TinyError } from '../errors.ts';

/** What a registry holds: a named kind of one family (the contract's channels and runtimes; `@tinyagi/git-tasks`'s check kinds and forges). */
export interface RegisteredKind {
  readonly family: string;
  readonly name: string;
  /** Other names it answers to (runtimes). */
  readonly aliases?: readonly string[];
}

export class KindRegistry<K extends RegisteredKind = Kind> {
  readonly #kinds = new Map<string, K>();
  readonly #aliases = new Map<string, string>();

  readonly family: K['family'];

  constructor(family: K['family']) {
    this.family = family;
  }

  /** Adds `kind` (or replaces the one of the same name); returns a function that restores the previous state. */
  register(kind: K): () => void {
    if (kind.family !== this.family) throw new TinyError('INVALID_ID', `A ${kind.family} kind cannot be registered as a ${this.family}.`);
    const names = [kind.name, ...aliasesOf(kind)];
    for (const name of names) {
      if (!KIND_NAME_PATTERN.test(name))
        throw new TinyError('INVALID_ID', `Bad ${this.family} kind name ${JSON.stringify(name)}: use lower-case letters, digits and -, starting with a letter (at most 32).`);
      const owner = this.#aliases.get(name) ?? (this.#kinds.has(name) ? name : undefined);
      if (owner !== undefined && owner !== kind.name) throw new TinyError('ALREADY_EXISTS', `The ${this.family} name "${name}" is already taken by "${owner}".`);
    }
    const previous = this.#kinds.get(kind.name);
    if (previous) for (const alias of aliasesOf(previous)) this.#aliases.delete(alias);
    this.#kinds.set(kind.name, kind);
    for (const alias of aliasesOf(kind)) this.#aliases.set(alias, kind.name);
    return () => {
      if (this.#kinds.get(kind.name) !== kind) return;
      for (const alias of aliasesOf(kind)) this.#aliases.delete(alias);
      this.#kinds.delete(kind.name);
      if (previous) this.register(previous);
    };
  }

  /** The kind of that name or alias. */
  get(name: string): K | undefined {
    return this.#kinds.get(this.#aliases.get(name) ?? name);
  }

  /** The canonical name for a name or alias; undefined when nothing of that name is registered. */
  canonicalName(name: string): string | undefined {
    return this.get(name)?.name;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every registered kind, by name. */
  list(): K[] {
    return [...this.#kinds.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.list().map((k) => k.name);
  }
}

function aliasesOf(kind: RegisteredKind): readonly string[] {
  return kind.aliases ?? [];
}

export const channelKinds = new KindRegistry<ChannelKind>('channel');
export const runtimeKinds = new KindRegistry<RuntimeKind>('runtime');
