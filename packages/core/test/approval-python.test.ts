/**
 * The starter rules for a Python project (docs/approvals.md, "The starter rules"): the usual ways
 * of running its tests and linters in a virtual environment are judged as the tool they run, with
 * that tool's harmless arguments: `.venv/bin/<tool>` and `venv/bin/<tool>` inside the workspace,
 * `python -m <tool>`, `uv run`, `poetry run` and `hatch run`; `python -m unittest`, `ruff check`,
 * `ruff format --check`, `mypy`, `flake8` and `black --check` as commands of their own. Another
 * module, script or program through the same wrappers still asks. With the real interpreter: a
 * venv's `python` is a link out of the workspace (so its folder is what must be inside), and
 * `python -m` runs a module of the folder it runs in first (so an arbitrary module asks).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '../src/approvals/new-agent-defaults.ts';
import { evaluatePermission } from '../src/approvals/rules.ts';

const root = mkdtempSync(join(tmpdir(), 'tinyagi-python-'));
const ws = join(root, 'ws');
mkdirSync(join(ws, 'tests'), { recursive: true });
mkdirSync(join(ws, 'src'));
writeFileSync(join(ws, 'tests', 'test_app.py'), 'import unittest\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(1 + 1, 2)\n');
writeFileSync(join(ws, 'tests', '__init__.py'), '');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const starter = (command: string, workspace = ws) => evaluatePermission(STARTER_PERMISSION_RULES, { tool: 'Bash', input: { command } }, workspace, 'ask').action;

describe('Python tests and linters in a virtual environment', () => {
  // A venv made by the real interpreter, with the system's packages (no network, no pip).
  const made = spawnSync('python3', ['-m', 'venv', '--without-pip', '--system-site-packages', '.venv'], { cwd: ws, encoding: 'utf8' });
  mkdirSync(join(ws, 'venv', 'bin'), { recursive: true });
  for (const tool of ['pytest', 'ruff', 'mypy', 'flake8', 'black', 'pip']) {
    writeFileSync(join(ws, '.venv', 'bin', tool), '#!/bin/sh\n');
    writeFileSync(join(ws, 'venv', 'bin', tool), '#!/bin/sh\n');
  }

  it('the real interpreter: a venv’s python links out of the workspace and runs the tests; `python -m` runs a module of the folder first', () => {
    expect(made.status, made.stderr).toBe(0);
    expect(realpathSync(join(ws, '.venv', 'bin', 'python')).startsWith(ws)).toBe(false);
    expect(readlinkSync(join(ws, '.venv', 'bin', 'python'))).toMatch(/python/);
    const tests = spawnSync(join(ws, '.venv', 'bin', 'python'), ['-m', 'unittest', '-q', 'tests.test_app'], { cwd: ws, encoding: 'utf8' });
    expect(tests.stderr).toContain('OK');
    writeFileSync(join(ws, 'http.py'), 'print("workspace module ran")\n');
    expect(spawnSync('python3', ['-m', 'http'], { cwd: ws, encoding: 'utf8' }).stdout).toContain('workspace module ran');
    rmSync(join(ws, 'http.py'));
  });

  it('are allowed, judged as the tool they run', () => {
    for (const line of [
      '.venv/bin/pytest',
      '.venv/bin/pytest -x tests/test_app.py',
      './.venv/bin/pytest -q',
      'venv/bin/pytest -k add',
      '.venv/bin/python -m pytest -q',
      '.venv/bin/python -B -m pytest -q',
      'python3 -B -m unittest',
      '.venv/bin/python3 -m unittest -v',
      'python -m pytest',
      'python3 -m pytest -xvs tests',
      'uv run pytest',
      'uv run --frozen pytest -k add',
      'uv run python -m pytest',
      'poetry run pytest tests',
      'hatch run pytest -q',
      'python -m unittest',
      'python3 -m unittest -v tests.test_app',
      'python -m unittest discover -s tests -p "test_*.py"',
      'ruff check',
      'ruff check src --select E,F',
      'uv run ruff check .',
      'ruff format --check',
      'ruff format --check src',
      'mypy src',
      'python -m mypy --strict src',
      '.venv/bin/mypy src',
      'flake8',
      'flake8 --max-line-length=100 src',
      'black --check .',
      'poetry run black --check --diff src',
      `${ws}/.venv/bin/pytest tests`,
      'uv run pytest -q > /dev/null 2>&1',
    ]) {
      expect(starter(line), line).toBe('allow');
    }
  });

  it('another module, script or program through the same wrappers, or a harmful argument, asks', () => {
    const link = join(root, 'linked');
    mkdirSync(link);
    symlinkSync(join(ws, '.venv'), join(link, '.venv'));
    for (const line of [
      'python -m http.server',
      'python -B -m http.server',
      'python -B script.py',
      'python3 -m pip install requests',
      'python -m pytest_evil',
      'python script.py',
      "python -c 'print(1)'",
      'python',
      'uv run anything',
      'uv run python script.py',
      'uv run python -m http.server',
      'uv run --with evil pytest',
      'uv run --python 3.12 pytest',
      'uv run pytest --junitxml=/tmp/x.xml',
      'uv pip install x',
      'poetry run python manage.py',
      'poetry run pip install x',
      'hatch run test:cov',
      'hatch run bash',
      'python -m pytest -p evil',
      'python -m pytest --rootdir=/etc',
      '.venv/bin/pip install requests',
      '.venv/bin/python script.py',
      '.venv/bin/python -m pip install x',
      'venv/bin/python -c "import os"',
      '../.venv/bin/pytest',
      'build/bin/pytest',
      'ruff check --fix',
      'ruff check --config=/etc/ruff.toml',
      'ruff format',
      'ruff format src',
      'ruff --version; ruff clean',
      'black .',
      'black src --config /etc/black.toml --check',
      'mypy --install-types --non-interactive',
      'mypy --config-file=/etc/mypy.ini src',
      'mypy @args.txt',
      'flake8 --output-file=report.txt',
      'python -m unittest discover -s /etc',
      'python -m unittest discover -s/etc',
      'python -m unittest discover --start-directory=/etc',
    ]) {
      expect(starter(line), line).toBe('ask');
    }
    // From a folder a `cd` may have failed to reach; a venv whose folder is a link out of the workspace.
    expect(starter('cd src && ../.venv/bin/pytest')).toBe('ask');
    expect(starter('.venv/bin/pytest', link)).toBe('ask');
    expect(starter('.venv/bin/python -m pytest', link)).toBe('ask');
  });

  it('deny and ask rules read the tool a wrapper runs; an exact rule for the tool covers it run so', () => {
    const rules = [
      { action: 'allow' as const, command: 'pytest *' },
      { action: 'deny' as const, command: 'pytest --lf*' },
      { action: 'allow' as const, command: 'mypy' },
    ];
    const decide = (command: string) => evaluatePermission(rules, { tool: 'Bash', input: { command } }, ws, 'ask').action;
    expect(decide('uv run pytest -x')).toBe('allow');
    expect(decide('uv run pytest --lf')).toBe('deny');
    expect(decide('python -m pytest --lf -x')).toBe('deny');
    expect(decide('poetry run mypy')).toBe('allow');
    expect(decide('poetry run mypy src')).toBe('ask');
  });
});
