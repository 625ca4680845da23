// Published manifests drop the `tinyagi-source` export condition: it points workspace tools
// (tsc, vitest, node --conditions) at TypeScript sources, which tarballs do not ship.
const SOURCE_CONDITION = 'tinyagi-source';

function withoutSourceCondition(node) {
  if (Array.isArray(node)) return node.map(withoutSourceCondition);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node).filter(([key]) => key !== SOURCE_CONDITION);
  // {"types": {"default": "./dist/x.d.ts"}} collapses to {"types": "./dist/x.d.ts"}.
  if (entries.length === 1 && entries[0][0] === 'default') return withoutSourceCondition(entries[0][1]);
  return Object.fromEntries(entries.map(([key, value]) => [key, withoutSourceCondition(value)]));
}

export const hooks = {
  beforePacking(pkg) {
    if (pkg.exports) pkg.exports = withoutSourceCondition(pkg.exports);
    return pkg;
  },
};
