/**
 * The everyday read-only command lines an agent runs (gathered from the real
 * CLIs): each asked a person of a new agent before; a sandboxed agent's starter rules allow them
 * (docs/approvals.md). Shared by core's rules corpus and teams' desk tests.
 */
export const EVERYDAY_READ_COMMANDS: readonly string[] = [
  'cat README.md',
  'rg foo',
  'rg -n "TODO" src',
  'grep -rn TODO src',
  'grep -c export src/index.ts',
  'head -50 src/index.ts',
  'head -n 20 README.md',
  'tail -n 100 build.log',
  'tail -20 build.log',
  'wc -l README.md',
  'wc -l src/index.ts package.json',
  'jq .scripts package.json',
  'jq -r .version package.json',
  'git rev-parse HEAD',
  'git rev-parse --show-toplevel',
  'git log --oneline | head -5',
  'npm test 2>&1 | tail -20',
  "find . -name '*.ts' -not -path './node_modules/*'",
  'find src -type f | wc -l',
  'diff a.txt b.txt',
  'tree -L 2',
  'du -sh src',
  'git ls-files | grep index',
  'cat package.json | jq .dependencies',
];
