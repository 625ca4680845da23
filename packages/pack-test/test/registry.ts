/**
 * A local npm registry for one scope, serving packed tarballs the way the npm registry serves
 * published packages (a packument per name, the tarball with its integrity). npm is pointed at it
 * for the scope only (`@tinyagi:registry=`), so `npm i -g tinyagi.tgz` resolves tinyagi's own
 * dependencies as a user's install of the published package would, and everything else from the
 * npm registry. Several versions of a package can be served at once (an upgrade test).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalRegistry {
  url: string;
  /** Serves this tarball as its package's version (read from its package.json). */
  add(tarball: string): void;
  close(): Promise<void>;
}

interface Version {
  manifest: Record<string, unknown> & { name: string; version: string };
  file: string;
  integrity: string;
  shasum: string;
}

export async function startLocalRegistry(): Promise<LocalRegistry> {
  const packages = new Map<string, Map<string, Version>>();
  const byPath = new Map<string, string>();
  let url = '';

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!).slice(1);
    const file = byPath.get(path);
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
      return;
    }
    const versions = packages.get(path);
    if (versions === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const list = [...versions.values()];
    const latest = list.filter((v) => !v.manifest.version.includes('-')).at(-1) ?? list.at(-1)!;
    const packument = {
      name: path,
      'dist-tags': { latest: latest.manifest.version },
      versions: Object.fromEntries(
        list.map((v) => [
          v.manifest.version,
          { ...v.manifest, _id: `${v.manifest.name}@${v.manifest.version}`, dist: { tarball: `${url}/${tarballPath(v.manifest.name, v.manifest.version)}`, integrity: v.integrity, shasum: v.shasum } },
        ]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    add(tarball) {
      const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Version['manifest'];
      const bytes = readFileSync(tarball);
      const version: Version = {
        manifest,
        file: tarball,
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        shasum: createHash('sha1').update(bytes).digest('hex'),
      };
      const versions = packages.get(manifest.name) ?? new Map<string, Version>();
      versions.set(manifest.version, version);
      packages.set(manifest.name, versions);
      byPath.set(tarballPath(manifest.name, manifest.version), tarball);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function tarballPath(name: string, version: string): string {
  return `${name}/-/${name.split('/').at(-1)}-${version}.tgz`;
}
