/**
 * `pnpm release:pack`: the release tarball a user installs alone, dist-release/tinyagi-<version>.tgz.
 *
 * It is the `tinyagi` package as `pnpm pack` makes it (TinyOffice inside, workspace specs replaced
 * by versions) with every @tinyagi/* package it needs, each as `pnpm pack` makes it, inside its
 * node_modules and named in `bundleDependencies`: `npm install -g ./tinyagi-<version>.tgz` and
 * `npx ./tinyagi-<version>.tgz start` take them from the tarball, and only third-party packages
 * from the registry. Run it after `pnpm build` (the root script builds first).
 *
 *   node scripts/release-pack.mjs [--out <dir>]     (default dist-release/; older tinyagi-*.tgz there are removed)
 *
 * Prints the tarball's path on its last line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = join(ROOT, 'packages');
const CLI = 'tinyagi';

const outFlag = process.argv.indexOf('--out');
const out = resolve(outFlag > 0 ? process.argv[outFlag + 1] : join(ROOT, 'dist-release'));

/** The publishable packages (not private) under packages/, by name. */
function publishable() {
  const byName = new Map();
  for (const entry of readdirSync(PACKAGES, { withFileTypes: true })) {
    const file = join(PACKAGES, entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (manifest.private !== true) byName.set(manifest.name, { dir: join(PACKAGES, entry.name), manifest });
  }
  return byName;
}

/** The workspace packages `name` depends on, directly or through another (not `name` itself). */
function workspaceDependencies(name, byName) {
  const seen = new Set();
  const visit = (n) => {
    for (const dependency of Object.keys(byName.get(n).manifest.dependencies ?? {})) {
      if (byName.has(dependency) && !seen.has(dependency)) {
        seen.add(dependency);
        visit(dependency);
      }
    }
  };
  visit(name);
  return [...seen].sort();
}

/** `pnpm pack` of one package into destination (its prepack/postpack run, as for a publish); returns the tarball. */
function pack(dir, destination) {
  if (!existsSync(join(dir, 'dist'))) throw new Error(`${dir} has no dist/: run \`pnpm build\` first`);
  const before = new Set(readdirSync(destination));
  execFileSync('pnpm', ['pack', '--pack-destination', destination], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const made = readdirSync(destination).filter((file) => file.endsWith('.tgz') && !before.has(file));
  if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs`);
  return join(destination, made[0]);
}

function unpack(tarball, into) {
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', into, '--strip-components=1', '--no-same-owner']);
}

const byName = publishable();
const bundled = workspaceDependencies(CLI, byName);
const work = mkdtempSync(join(tmpdir(), 'tinyagi-release-'));
try {
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const stage = join(work, CLI);
  unpack(pack(byName.get(CLI).dir, tarballs), stage);
  for (const name of bundled) unpack(pack(byName.get(name).dir, tarballs), join(stage, 'node_modules', name));

  const manifestFile = join(stage, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  // A bundled package answers its dependents only at the version they ask for.
  for (const name of bundled) {
    const { version } = JSON.parse(readFileSync(join(stage, 'node_modules', name, 'package.json'), 'utf8'));
    for (const dependent of [CLI, ...bundled]) {
      const spec = dependent === CLI ? manifest.dependencies?.[name] : JSON.parse(readFileSync(join(stage, 'node_modules', dependent, 'package.json'), 'utf8')).dependencies?.[name];
      if (spec !== undefined && spec !== version) throw new Error(`${dependent} asks for ${name}@${spec}; the bundle holds ${version}`);
    }
  }
  // Each bundled package's registry dependencies become tinyagi's own, installed beside the bundle
  // in tinyagi/node_modules, where Node finds them from the bundled packages too. Left on a bundled
  // package, npm would count them as part of the bundle (a dependency of a bundled package is
  // bundled, npm's arborist says) and leave their folders empty.
  for (const name of bundled) {
    const file = join(stage, 'node_modules', name, 'package.json');
    const bundledManifest = JSON.parse(readFileSync(file, 'utf8'));
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
      for (const [dependency, spec] of Object.entries(bundledManifest[field] ?? {})) {
        if (bundled.includes(dependency)) continue;
        const held = manifest.dependencies?.[dependency];
        if (held !== undefined && held !== spec) throw new Error(`${name} asks for ${dependency}@${spec}, tinyagi for ${held}: make them one version`);
        manifest.dependencies = { ...manifest.dependencies, [dependency]: spec };
        delete bundledManifest[field][dependency];
      }
    }
    writeFileSync(file, `${JSON.stringify(bundledManifest, null, 2)}\n`);
  }
  manifest.dependencies = Object.fromEntries(Object.entries(manifest.dependencies).sort(([a], [b]) => a.localeCompare(b)));
  // The packages named here travel inside the tarball, with the workspace packages they depend on.
  manifest.bundleDependencies = bundled.filter((name) => manifest.dependencies[name] !== undefined);
  // Nothing left to run: the tarball is already packed (prepack/postpack are the workspace's).
  delete manifest.scripts;
  delete manifest.devDependencies;
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);

  mkdirSync(out, { recursive: true });
  const target = join(out, `${CLI}-${manifest.version}.tgz`);
  // One release tarball in the folder, so `npm install -g ./dist-release/tinyagi-*.tgz` names it.
  for (const old of readdirSync(out).filter((file) => file.startsWith(`${CLI}-`) && file.endsWith('.tgz'))) rmSync(join(out, old));
  execFileSync('npm', ['pack', '--ignore-scripts', '--loglevel=error', '--pack-destination', out], { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(target)) throw new Error(`npm pack made no ${target}`);

  // Every bundled package is in the tarball (npm packs bundled packages and those they depend on).
  const listed = new Set(execFileSync('tar', ['-tzf', target], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n'));
  const missing = bundled.filter((name) => !listed.has(`package/node_modules/${name}/package.json`));
  if (missing.length > 0) throw new Error(`${target} lacks ${missing.join(', ')}`);
  if (!listed.has('package/office/index.html')) throw new Error(`${target} lacks TinyOffice (package/office/index.html)`);
  console.log(`${CLI} ${manifest.version} with ${bundled.join(', ')} inside`);
  console.log(target);
} finally {
  rmSync(work, { recursive: true, force: true });
}
