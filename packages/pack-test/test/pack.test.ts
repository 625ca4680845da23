/**
 * What a library user gets from npm: every publishable package (non-private, under packages/) is
 * packed with `pnpm pack`, the tarballs are installed together with npm into an empty project in
 * the OS temp dir (outside the workspace: no workspace links, no `tinyagi-source` condition), and
 * each README's example is type-checked there (strict, NodeNext, skipLibCheck off) and run with
 * node, printing what the README says it prints. Needs `pnpm build` first (turbo runs it) and the
 * npm registry for the packages' own dependencies; one install per run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, type Publishable, publishablePackages } from './packing.ts';
import { normalizeOutput, readmeCode, type ReadmeCode } from './readme.ts';
import { missingEntryFiles, staleOutputs, undeclaredImports, workspaceConditions, workspaceSpecs, type PackedManifest } from './tarball.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The node every package needs: the workspace's own engines.node. */
const ROOT_ENGINES_NODE = (JSON.parse(readFileSync(join(HERE, '../../../package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const SELF = JSON.parse(readFileSync(join(HERE, '../package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const require = createRequire(import.meta.url);

// A cold npm cache fetches every dependency from the registry: on a clean machine behind a slow
// proxy that took over 300 s once (2026-11-22). A stalled fetch is retried after 60 s.
const INSTALL_TIMEOUT_MS = 600_000;
const RUN_TIMEOUT_MS = 60_000;

const packages = publishablePackages();

interface Packed extends Publishable {
  tarball: string;
  /** The tarball unpacked (its `package/` folder). */
  unpacked: string;
  packedManifest: PackedManifest;
  code: ReadmeCode;
}

let root: string;
let project: string;
const packed = new Map<string, Packed>();

/**
 * npm does not read NODE_EXTRA_CA_CERTS for its own registry requests; behind a TLS-inspecting
 * proxy (as on the CI machines) an npm without a configured cafile fails with
 * SELF_SIGNED_CERT_IN_CHAIN. Hand it the same bundle, unless a cafile is configured already.
 */
const npmCaEnv = process.env.NODE_EXTRA_CA_CERTS && !process.env.npm_config_cafile ? { npm_config_cafile: process.env.NODE_EXTRA_CA_CERTS } : {};

function run(command: string, args: string[], cwd: string, timeout: number): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, ...npmCaEnv, NO_COLOR: '1', FORCE_COLOR: '0' } });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-pack-'));
  const tarballs = join(root, 'tarballs');
  project = join(root, 'project');
  mkdirSync(tarballs);
  mkdirSync(project);

  for (const p of packages) {
    const tarball = pack(p, tarballs);
    const unpacked = join(root, 'unpacked', p.slug);
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const packageDir = join(unpacked, 'package');
    const readmeFile = join(packageDir, 'README.md');
    if (!existsSync(readmeFile)) throw new Error(`${p.manifest.name}: the tarball has no README.md`);
    packed.set(p.manifest.name, {
      ...p,
      tarball,
      unpacked: packageDir,
      packedManifest: JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackedManifest,
      code: readmeCode(readFileSync(readmeFile, 'utf8'), `${p.manifest.name} README.md`),
    });
  }

  // Every tarball is a direct dependency, and overrides pin every transitive reference to a
  // sibling to that same tarball: nothing of ours comes from the registry.
  const dependencies: Record<string, string> = {};
  const overrides: Record<string, string> = {};
  for (const p of packed.values()) {
    dependencies[p.manifest.name] = `file:${p.tarball}`;
    overrides[p.manifest.name] = `$${p.manifest.name}`;
  }
  const typesNode = (JSON.parse(readFileSync(require.resolve('@types/node/package.json'), 'utf8')) as { version: string }).version;
  dependencies['@types/node'] = typesNode;
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'tinyagi-library-user', private: true, type: 'module', dependencies, overrides }, null, 2)}\n`);
  writeFileSync(
    join(project, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'es2023',
          lib: ['es2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          strict: true,
          verbatimModuleSyntax: true,
          erasableSyntaxOnly: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
  );

  const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--fetch-timeout=60000', '--fetch-retries=4'], project, INSTALL_TIMEOUT_MS);
  if (install.status !== 0) throw new Error(`npm install failed (${install.status}):\n${install.stderr}`);

  for (const p of packed.values()) {
    writeFileSync(join(project, `${p.slug}.example.ts`), p.code.example);
    for (const [i, snippet] of p.code.snippets.entries()) writeFileSync(join(project, `${p.slug}.snippet-${i + 1}.ts`), snippet);
  }
}, INSTALL_TIMEOUT_MS + 120_000);

// Removing the installed project (thousands of files) took over a minute once, on a disk shared
// with the rest of the suite: the ceiling is for a loaded machine, not the expected time.
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
}, 300_000);

describe('publishable packages', () => {
  it('are all built before this test (turbo ^build through devDependencies)', () => {
    expect(packages.length).toBeGreaterThan(0);
    const missing = packages.map((p) => p.manifest.name).filter((name) => SELF.devDependencies[name] !== 'workspace:*');
    expect(missing, 'add them to packages/pack-test devDependencies as workspace:*').toEqual([]);
  });

  describe.each(packages.map((p) => p.manifest.name))('%s tarball', (name) => {
    it('carries its licence, README and the node it needs: LICENSE and README.md in the tarball, license, engines.node and files in the manifest', () => {
      const p = packed.get(name)!;
      const m = p.packedManifest as PackedManifest & { license?: string; engines?: { node?: string }; files?: string[] };
      expect(['LICENSE', 'README.md'].filter((f) => !existsSync(join(p.unpacked, f)))).toEqual([]);
      expect(m.license).toBe('MIT');
      expect(m.engines?.node).toBe(ROOT_ENGINES_NODE);
      expect(m.files?.length, 'an explicit files list: nothing but what users run').toBeGreaterThan(0);
    });

    it('has only installable dependency specs and no workspace-only export condition', () => {
      expect(workspaceSpecs(packed.get(name)!.packedManifest)).toEqual([]);
      expect(workspaceConditions(packed.get(name)!.packedManifest)).toEqual([]);
    });

    it('contains every file its exports, bin and types name', () => {
      const p = packed.get(name)!;
      expect(missingEntryFiles(p.unpacked, p.packedManifest)).toEqual([]);
    });

    it('imports only its dependencies', () => {
      const p = packed.get(name)!;
      expect(undeclaredImports(p.unpacked, p.packedManifest)).toEqual([]);
    });

    it('ships no build output without a source (a stale dist)', () => {
      const p = packed.get(name)!;
      expect(staleOutputs(p.unpacked, p.dir)).toEqual([]);
    });

    it('resolves from the npm-installed project to the packed files', () => {
      const resolved = run(process.execPath, ['--input-type=module', '-e', `console.log(import.meta.resolve(${JSON.stringify(name)}))`], project, RUN_TIMEOUT_MS);
      expect(resolved.stderr).toBe('');
      const file = fileURLToPath(resolved.stdout.trim());
      expect(file.startsWith(join(project, 'node_modules'))).toBe(true);
    });
  });
});

describe('README examples in the npm-installed project', () => {
  it('type-check: strict, NodeNext, no skipLibCheck, no custom conditions', () => {
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
    const result = run(process.execPath, [tsc, '-p', 'tsconfig.json'], project, RUN_TIMEOUT_MS * 2);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(packages.map((p) => p.manifest.name))('%s: the example runs and prints what the README says', (name) => {
    const p = packed.get(name)!;
    const result = run(process.execPath, [`${p.slug}.example.ts`], project, RUN_TIMEOUT_MS);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(normalizeOutput(result.stdout)).toBe(normalizeOutput(p.code.expectedOutput));
  });

  it.each(packages.filter((p) => p.manifest.bin).map((p) => p.manifest.name))('%s: its bins print the version', (name) => {
    const p = packed.get(name)!;
    const bin = p.packedManifest.bin!;
    for (const command of typeof bin === 'string' ? [name] : Object.keys(bin)) {
      const result = run(join(project, 'node_modules', '.bin', command), ['--version'], project, RUN_TIMEOUT_MS);
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe(p.packedManifest.version);
    }
  });
});
