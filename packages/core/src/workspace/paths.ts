import { isAbsolute, relative, sep } from 'node:path';
import { TinyError } from '../errors.ts';

export function requireAbsolute(path: string, what: string): string {
  if (!isAbsolute(path)) {
    throw new TinyError('INVALID_PATH', `${what} "${path}" is not an absolute path.`, {
      hint: 'Expand ~ and resolve the path before passing it.',
    });
  }
  return path;
}

/** True when `child` is `parent` or below it (both absolute and normalised). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
