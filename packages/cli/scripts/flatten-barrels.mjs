/**
 * An esbuild plugin that makes the CLI's imports from our packages' index files ("barrels",
 * e.g. `import { isValidId } from '@tinyagi/core'`) import each name from the module that
 * defines it. Why: with code splitting, esbuild puts a module into the chunk of every entry
 * point that reaches it through any import, used or not, so one `import … from '@tinyagi/core'`
 * in a command made that command load all of core (the invoker, the stores, zod and the
 * contract) whatever it used: `tinyagi --version` loaded 2 MB of JavaScript. Tree shaking does
 * not help: the code is used, by other commands.
 *
 * The package's own declared surface of core's internal names (src/core-internal.ts, imported
 * by a relative path) is such a barrel too, looked through the same way.
 *
 * Only pure index files are looked through: a module whose every statement is a re-export
 * (`export { a } from './a.ts'`, `export * from './b.ts'`; types are erased first). A module with
 * code of its own (kinds/runtimes/index.ts registers the built-in runtimes when it is loaded) is
 * where a name is taken from, so what loading it does still happens. An import with a name that
 * cannot be followed (a namespace re-export, a package outside the list) is left as written.
 * Imports are rewritten on their own line, so line numbers (and source maps) stay.
 */
import { readFileSync } from 'node:fs';
import { transform } from 'esbuild';

const REEXPORT = /export\s*\{([^}]*)\}\s*from\s*"([^"]+)";?/g;
const STAR = /export\s*\*\s*from\s*"([^"]+)";?/g;
const LOCAL_DECL = /export\s+(?:async\s+)?(?:function\s*\*?|class|const|let|var)\s+([\w$]+)/g;
const LOCAL_LIST = /export\s*\{([^}]*)\}\s*;?/g;
const IMPORT_JS = /import\s*\{([^}]*)\}\s*from\s*"([^"]+)";?/g;
const IMPORT = /^import\s+\{([^}]*)\}\s+from\s+'([^']+)';/gm;
/** A relative import of the package's surface of core's internal names (src/core-internal.ts). */
const SURFACE = /^(?:\.\.?\/)+core-internal\.ts$/;

/** `a`, `a as b`, `type T` from a brace list. */
function specifiers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const type = /^type\s+/.test(s);
      const [imported, local = imported] = s.replace(/^type\s+/, '').split(/\s+as\s+/);
      return { type, imported, local, text: s };
    });
}

/**
 * @param {{ packages: string[], importers: (path: string) => boolean }} options the package
 *   specifiers whose barrels are looked through, and the files whose imports are rewritten.
 */
export function flattenBarrels({ packages, importers }) {
  return {
    name: 'flatten-barrels',
    setup(b) {
      const infos = new Map();
      /** What a module exports by name, by `export *`, and whether it is nothing but re-exports. */
      const moduleInfo = (file) => {
        let info = infos.get(file);
        if (info === undefined) {
          info = (async () => {
            const source = readFileSync(file, 'utf8');
            const { code } = await transform(source, { loader: file.endsWith('.ts') ? 'ts' : 'js', format: 'esm', legalComments: 'none' });
            // esbuild writes `export { a } from './a.ts'` as an import and an export list.
            const named = new Map();
            const imported = new Map();
            const stars = [];
            let rest = code.replace(REEXPORT, (_, list, spec) => {
              for (const s of specifiers(list)) named.set(s.local, { spec, name: s.imported });
              return '';
            });
            rest = rest.replace(STAR, (_, spec) => {
              stars.push(spec);
              return '';
            });
            rest = rest.replace(IMPORT_JS, (_, list, spec) => {
              for (const s of specifiers(list)) imported.set(s.local, { spec, name: s.imported });
              return '';
            });
            const locals = new Set();
            rest = rest.replace(LOCAL_LIST, (_, list) => {
              for (const s of specifiers(list)) {
                const from = imported.get(s.imported);
                if (from !== undefined) named.set(s.local, from);
                else locals.add(s.local);
              }
              return '';
            });
            for (const m of rest.matchAll(LOCAL_DECL)) locals.add(m[1]);
            if (/export\s+default\b/.test(rest)) locals.add('default');
            return { pure: rest.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '').trim() === '', named, stars, locals };
          })();
          infos.set(file, info);
        }
        return info;
      };
      const resolveSpec = async (spec, fromFile) => {
        const r = await b.resolve(spec, { kind: 'import-statement', resolveDir: fromFile.replace(/[\\/][^\\/]*$/, '') });
        return r.errors.length > 0 || r.external || r.namespace !== 'file' ? undefined : r.path;
      };
      /** The module that defines `name` as seen through `file`'s pure re-exports, or undefined. */
      const definer = async (file, name, depth = 0) => {
        if (depth > 50) return undefined;
        const info = await moduleInfo(file);
        if (!info.pure) return (await exports(file, name, depth)) ? { file, name } : undefined;
        const re = info.named.get(name);
        if (re !== undefined) {
          const target = await resolveSpec(re.spec, file);
          return target === undefined ? undefined : definer(target, re.name, depth + 1);
        }
        if (name === 'default') return undefined;
        for (const spec of info.stars) {
          const target = await resolveSpec(spec, file);
          if (target === undefined) return undefined;
          const hit = await definer(target, name, depth + 1);
          if (hit !== undefined) return hit;
        }
        return undefined;
      };
      /** Whether `file` exports `name` at all (its own declarations, re-exports or stars). */
      const exports = async (file, name, depth) => {
        const info = await moduleInfo(file);
        if (info.locals.has(name) || info.named.has(name)) return true;
        if (name === 'default' || depth > 50) return false;
        for (const spec of info.stars) {
          const target = await resolveSpec(spec, file);
          if (target !== undefined && (await exports(target, name, depth + 1))) return true;
        }
        return false;
      };

      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!importers(args.path)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const statements = [...source.matchAll(IMPORT)].filter((m) => packages.includes(m[2]) || SURFACE.test(m[2]));
        if (statements.length === 0) return undefined;
        let out = '';
        let at = 0;
        for (const m of statements) {
          const [text, list, spec] = m;
          const barrel = await resolveSpec(spec, args.path);
          const items = specifiers(list);
          const values = items.filter((s) => !s.type);
          const found = barrel === undefined ? [] : await Promise.all(values.map((s) => definer(barrel, s.imported)));
          out += source.slice(at, m.index);
          at = m.index + text.length;
          if (barrel === undefined || found.some((f) => f === undefined)) {
            out += text;
            continue;
          }
          const byFile = new Map();
          values.forEach((s, i) => {
            const { file, name } = found[i];
            const list = byFile.get(file) ?? [];
            list.push(name === s.local ? name : `${name} as ${s.local}`);
            byFile.set(file, list);
          });
          // Types as `import type` (erased): `import { type T }` would stay as `import '<barrel>'`.
          const types = items.filter((s) => s.type).map((s) => s.text.replace(/^type\s+/, ''));
          const parts = [
            ...(types.length > 0 ? [`import type { ${types.join(', ')} } from '${spec}';`] : []),
            ...[...byFile].map(([file, names]) => `import { ${names.join(', ')} } from ${JSON.stringify(file)};`),
          ];
          // Same number of lines as the statement it replaces.
          out += parts.join(' ') + '\n'.repeat((text.match(/\n/g) ?? []).length);
        }
        out += source.slice(at);
        return { contents: out, loader: 'ts' };
      });
    },
  };
}
