/**
 * Bundles the `tinyagi` executable (src/bin.ts and everything it loads from @tinyagi/core,
 * teams, server and client) into dist/bin.js plus lazily loaded chunks in dist/chunks/.
 * Why: a daemon built from ~600 ES modules spends most of its start-up in the module loader and
 * keeps every module's source in memory; one bundle starts faster and is smaller
 * (docs/profiling.md, fix 20). tsc's per-file output stays in dist/ for library users
 * (`import … from 'tinyagi'`); only the executable is replaced.
 *
 * Left external (resolved from this package's dependencies at run time): native or
 * file-reading packages (better-sqlite3; @fastify/swagger-ui serves files from its own folder),
 * and the channels, the visualizer and the MCP SDK (`tinyagi mcp`), which run in their own
 * process or only on demand. Trace export (@tinyagi/otel, loaded only when telemetry is on) is a
 * bundle of its own, dist/otel/ (below), that both daemon builds load as `#otel`.
 * Package files the bundled code reads (core's drizzle/ and templates/, this package's version)
 * are found through `__TINYAGI_BUNDLED__` / `__TINYAGI_VERSION__` (core/src/package-root.ts,
 * src/version.ts); the check at the end fails the build if any other file-relative URL appears.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { build, transform } from 'esbuild';
import { flattenBarrels } from './flatten-barrels.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireHere = createRequire(import.meta.url);
const { version, imports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

export const EXTERNAL = [
  'better-sqlite3',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@tinyagi/channels',
  '@tinyagi/channels/runner',
  '@tinyagi/visualizer',
  '@tinyagi/otel',
  '@modelcontextprotocol/sdk/*',
];

/**
 * Fastify's default schema compilers (ajv, fast-json-stringify): never loaded, since the server
 * names its own compiler factories (server/src/zod-compilers.ts); left out of the bundle, with a
 * stub that fails loudly if that ever changes.
 */
const unusedDefaults = {
  name: 'fastify-default-compilers',
  setup(b) {
    b.onResolve({ filter: /^@fastify\/(ajv-compiler|fast-json-stringify-compiler)$/ }, (args) => ({ path: args.path, namespace: 'unused' }));
    b.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => ({
      contents: `module.exports = () => { throw new Error(${JSON.stringify(`${args.path} is not part of the tinyagi bundle: every route compiles with zod`)}); };`,
      loader: 'js',
    }));
  },
};

/**
 * Fastify's server module requires node:https, node:http2 and node:dns at load time, for
 * options the daemon never sets (`https`, `http2`) and for listening on a host name; loading
 * them (with node:tls and the HTTP/2 core) cost ~3.7 MB of idle RSS (docs/profiling.md fix 25).
 * For that module only they become proxies that require the builtin on first use, so Fastify
 * behaves the same when they are needed.
 *
 * The snapshot build (below) defers node:http too, from every module: its parser binding cannot
 * be part of a start-up snapshot. Fastify reads `STATUS_CODES` and `METHODS` at load time; those
 * two tables are copied in from the node that bundles. (No object of the daemon is built in the
 * snapshot: Fastify makes its http server when the daemon builds the API's app, at run time.)
 */
const LAZY_FROM_FASTIFY_SERVER = /^node:(https|http2|dns)$/;
function lazyBuiltins(filter, fromImporter) {
  const tables = `{ STATUS_CODES: ${JSON.stringify(http.STATUS_CODES)}, METHODS: ${JSON.stringify(http.METHODS)} }`;
  return {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter }, (args) =>
        args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : fromImporter(args.importer) ? { path: args.path, namespace: 'lazy-builtin' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
        contents: `const tables = ${/^(node:)?http$/.test(args.path) ? tables : '{}'}; let loaded; module.exports = new Proxy({}, { get: (_, key) => (key in tables ? tables[key] : (loaded ??= require(${JSON.stringify(args.path)}))[key]) });`,
        loader: 'js',
      }));
    },
  };
}
const lazyFastifyBuiltins = lazyBuiltins(LAZY_FROM_FASTIFY_SERVER, (importer) => /[\\/]fastify[\\/]lib[\\/]server\.js$/.test(importer));

/**
 * zod's `locales` export (error messages in ~50 languages, 297 KB of the bundle's source) is
 * never used: the daemon speaks English and words its own errors. Its index becomes English only,
 * which keeps ~0.3 MB of source out of the daemon's heap (docs/profiling.md, round 4);
 * `z.locales.en` still works, any other locale is undefined.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: join(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * The channel kinds' descriptors (`@tinyagi/channels/kinds`: zod and the contract only) are part
 * of the bundle, as in the snapshot's, though `@tinyagi/channels` is external (an external
 * package name covers its subpaths): loaded from the package, they brought a second zod and
 * contract, ~130 modules, into every command that reads settings.
 */
const channelKindsBundled = {
  name: 'channel-kinds-bundled',
  setup(b) {
    b.onResolve({ filter: /^@tinyagi\/channels\/kinds$/ }, () => {
      const pkg = requireHere.resolve('@tinyagi/channels/package.json');
      const { exports } = JSON.parse(readFileSync(pkg, 'utf8'));
      return { path: join(dirname(pkg), exports['./kinds']['tinyagi-source']) };
    });
  },
};

/** What both builds share: the sources, the conditions, the minification, the constants. */
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  conditions: ['tinyagi-source'],
  // Whitespace and syntax only: names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
};
// CommonJS dependencies inside an ES module bundle call require().
const requireBanner = { js: "import { createRequire as __tinyagiCreateRequire } from 'node:module'; const require = __tinyagiCreateRequire(import.meta.url);" };
const constants = { __TINYAGI_BUNDLED__: 'true', __TINYAGI_VERSION__: JSON.stringify(version) };

/** External packages the daemon loads from a bundle of this package instead (`#otel`: package.json `imports`, built below). */
const BUNDLED_APART = { '@tinyagi/otel': '#otel' };
const OTEL_ENTRY = join(imports['#otel']);
const bundledApart = {
  name: 'bundled-apart',
  setup(b) {
    b.onResolve({ filter: /^@tinyagi\/otel$/ }, (args) => ({ path: BUNDLED_APART[args.path], external: true }));
  },
};

/**
 * The root help's command list (src/root-help.ts), from the full tree as tsc built it: `tinyagi
 * --help` prints it without loading a command.
 */
const { buildProgram } = await import('../dist/program.js');
const { rootHelpIndex } = await import('../dist/root-help.js');
const rootHelp = rootHelpIndex(buildProgram());

/**
 * A command loads the modules of our packages it imports names from, not everything their index
 * files list (scripts/flatten-barrels.mjs): `tinyagi status` does not load the invoker.
 */
const cliImportsByModule = flattenBarrels({
  packages: ['@tinyagi/core', '@tinyagi/core/internal', '@tinyagi/client', '@tinyagi/client/contract'],
  importers: (path) => path.startsWith(join(root, 'src')),
});

const result = await build({
  ...common,
  entryPoints: { bin: 'src/bin.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
  external: EXTERNAL,
  sourcemap: 'linked',
  define: { ...constants, __TINYAGI_ROOT_HELP__: JSON.stringify(JSON.stringify(rootHelp)) },
  banner: requireBanner,
  plugins: [unusedDefaults, lazyFastifyBuiltins, zodEnglishOnly, bundledApart, channelKindsBundled, cliImportsByModule],
  metafile: Boolean(process.env.BUNDLE_META),
});

/**
 * The daemon's start-up snapshot builder (src/daemon/snapshot-entry.ts, src/daemon/launch.ts):
 * one CommonJS file, as node's `--build-snapshot` needs. A snapshot's `require` loads builtins
 * only, so the external packages go through `globalThis.__tinyagiRequire` (set when the daemon
 * runs). Two packages imported at load time become proxies that require them on first use:
 * better-sqlite3 (a native addon cannot be in a snapshot) and pg (the PostgreSQL client, only
 * used by a daemon on PostgreSQL: evaluated in the snapshot, it was heap every start
 * deserialized). `import.meta.url` reads as a file in dist/chunks/, like the ES module bundle's
 * chunks.
 */
const LOADED_ON_USE = new Set(['better-sqlite3', 'pg']);
const viaRuntimeRequire = {
  name: 'externals-at-run-time',
  setup(b) {
    const names = new RegExp(`^(${[...EXTERNAL, ...LOADED_ON_USE].map((e) => e.replace(/[/.]/g, (c) => `\\${c}`).replace('*', '.+')).join('|')})$`);
    b.onResolve({ filter: names }, (args) => ({ path: args.path, namespace: 'run-time-require' }));
    b.onLoad({ filter: /.*/, namespace: 'run-time-require' }, (args) => ({
      contents: LOADED_ON_USE.has(args.path)
        ? `let loaded; const load = () => (loaded ??= globalThis.__tinyagiRequire(${JSON.stringify(args.path)}));
module.exports = new Proxy(function () {}, { get: (_, key) => (key === '__esModule' ? undefined : load()[key]), construct: (_, a) => new (load())(...a), apply: (_, self, a) => load().apply(self, a) });`
        : `module.exports = globalThis.__tinyagiRequire(${JSON.stringify(BUNDLED_APART[args.path] ?? args.path)});`,
      loader: 'js',
    }));
  },
};
/**
 * The dependencies' local names shortened too (zod, fastify, find-my-way, pino, …), file by file:
 * the snapshot keeps the daemon's source in its heap, and this makes it 1.72 → 1.54 MB and the
 * idle daemon 0.8 MB smaller (docs/profiling.md, round 10). Our own code keeps its names, so a
 * stack trace in the daemon's log still reads. (esbuild's keepNames would cost more memory than
 * the shortening saves. The dependencies compare the names of built-in classes only, such as
 * AsyncFunction; light-my-request also names one of its own, for an inject option we never use.)
 */
const minifiedDependencies = {
  name: 'minified-dependencies',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (args) => {
      const { code } = await transform(readFileSync(args.path, 'utf8'), { loader: 'js', minifyIdentifiers: true, minifyWhitespace: true, minifySyntax: true, legalComments: 'none' });
      return { contents: code, loader: 'js' };
    });
  },
};

/**
 * Trace and metrics export: @tinyagi/otel with the OpenTelemetry SDK and exporters in one bundle,
 * dist/otel/ (where `#otel` in package.json's imports points), loaded by the daemon only when telemetry is on.
 * Loaded as packages, they added 14.5 MB to the daemon's RSS under the export bench
 * (docs/telemetry.md, "What it costs"), and every agent CLI the daemon spawns is a fork of it:
 * - tree-shaken, the semantic-conventions index (thousands of constants), the resource detectors
 *   and the rest of the SDK the export never calls stay out;
 * - the exporters' `import('http')` becomes a require of the builtin: imported as an ES module,
 *   node:http's namespace reads its every export, and its `WebSocket` getter loads undici (about
 *   10 MB in a bare node) for a class the export never uses;
 * - the gRPC exporters stay packages (dependencies of this package), loaded only with `grpc`:
 *   they require @grpc/grpc-js in a way a bundler cannot follow.
 */
const builtinsRequired = {
  name: 'builtins-required',
  setup(b) {
    b.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.namespace === 'builtin-required' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'builtin-required' },
    );
    // Named exports for the builtin's data properties (Agent, request, …), none for its getters.
    b.onLoad({ filter: /.*/, namespace: 'builtin-required' }, (args) => {
      const builtin = `node:${args.path}`;
      const names = Object.entries(Object.getOwnPropertyDescriptors(requireHere(builtin))).filter(([name, d]) => 'value' in d && /^[A-Za-z_$][\w$]*$/.test(name));
      return { contents: `const m = require(${JSON.stringify(builtin)}); export default m; export const { ${names.map(([name]) => name).join(', ')} } = m;`, loader: 'js' };
    });
  },
};
const otel = await build({
  ...common,
  entryPoints: { [basename(OTEL_ENTRY, '.js')]: '@tinyagi/otel' },
  outdir: dirname(OTEL_ENTRY),
  chunkNames: '[name]-[hash]',
  splitting: true,
  format: 'esm',
  // Core: types only, never a second copy.
  external: ['@tinyagi/core', '@grpc/grpc-js', '@opentelemetry/exporter-trace-otlp-grpc', '@opentelemetry/exporter-metrics-otlp-grpc'],
  banner: requireBanner,
  plugins: [builtinsRequired, minifiedDependencies],
  metafile: true,
});
// Chunks nothing imports (the resource detectors' per-platform machine-id readers: their code was
// tree-shaken, their dynamic-import targets were still written) are removed.
const reachable = new Set();
const reach = (file) => {
  if (reachable.has(file)) return;
  reachable.add(file);
  for (const { path, external } of otel.metafile.outputs[file]?.imports ?? []) if (!external) reach(path);
};
reach(OTEL_ENTRY);
for (const file of Object.keys(otel.metafile.outputs)) if (!reachable.has(file)) rmSync(join(root, file));

await build({
  ...common,
  entryPoints: { daemon: 'src/daemon/snapshot-entry.ts' },
  outfile: 'dist/daemon.cjs',
  format: 'cjs',
  define: { ...constants, 'import.meta.url': '__tinyagiUrl' },
  banner: { js: "const __tinyagiUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'chunks', 'daemon.js')).href;" },
  plugins: [unusedDefaults, lazyBuiltins(/^(node:)?(https?|http2|dns)$/, () => true), zodEnglishOnly, viaRuntimeRequire, minifiedDependencies],
});

// Every URL built from import.meta.url must still point at a file that exists from dist/ and
// dist/chunks/ alike: the only ones allowed are listed here. (daemon.cjs reads import.meta.url
// as a file in dist/chunks/ too.)
const ALLOWED = new Set(['../bin.js', '../../../../apps/tinyoffice/', '../../office/']);
const files = [
  'bin.js',
  ...readdirSync(join(root, 'dist/chunks'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => `chunks/${f}`),
  'daemon.cjs',
];
const bad = [];
for (const file of files) {
  const text = readFileSync(join(root, 'dist', file), 'utf8');
  for (const m of text.matchAll(/new URL\(\s*([^,]+?)\s*,\s*(?:import\.meta\.url|__tinyagiUrl)\s*\)/g)) {
    const spec = m[1].replace(/^[`'"]|[`'"]$/g, '').replace(/\$\{ext\}/, '.js');
    // From dist/bin.js these would point one folder too high: they belong in chunks only.
    if (file === 'bin.js' || !ALLOWED.has(spec)) bad.push(`${file}: new URL(${m[1]}, import.meta.url)`);
  }
}
if (bad.length > 0) {
  console.error(`bundle: file-relative URLs that do not resolve from the bundle:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
if (process.env.BUNDLE_META) writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile));

// The snapshot for the node that builds (tests and `pnpm start` use it; other nodes build their
// own on first start). A build that fails is reported and leaves the daemon on its modules.
const { daemonSnapshot, snapshotState } = await import('../dist/daemon/launch.js');
const bin = join(root, 'dist', 'bin.js');
if (!daemonSnapshot({ bin, build: true })) {
  const state = snapshotState(bin);
  console.warn(`bundle: no start-up snapshot (${state.state}${'reason' in state ? `: ${state.reason}` : ''}); the daemon starts from its modules.`);
}
