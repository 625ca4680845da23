/**
 * `tinyagi doctor [--fix] [--migrate] [--json]`. Exit code 1 when a check fails.
 */
import type { Command } from 'commander';
import type { CheckStatus } from '../doctor/checks.ts';
import { printJson, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { contextOf, withJson } from './options.ts';

const MARK: Record<CheckStatus, string> = {
  ok: style.green('✔'),
  info: style.dim('·'),
  warn: style.yellow('!'),
  fail: style.red('✖'),
};

export function registerDoctorCommand(program: Command): void {
  withJson(
    program
      .command('doctor')
      .description('diagnose the installation: node, agent CLIs, settings, database, port, token, channels')
      .option('--fix', 'apply safe fixes (file permissions, missing token, directories, workspaces, database migrations)')
      .option('--migrate', 'apply pending database migrations (creating the database if needed) and list them'),
  ).action(async (options: { fix?: boolean; migrate?: boolean; json?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const { runDoctor } = await import('../doctor/checks.ts');
    const findings = await runDoctor(ctx, { fix: options.fix === true, migrate: options.migrate === true });
    const failed = findings.filter((f) => f.status === 'fail').length;
    const migrations = findings.find((f) => f.check === 'migrations')?.details;
    if (options.json) printJson({ home: ctx.home, ok: failed === 0, ...(migrations ? { migrations } : {}), findings });
    else {
      println(style.dim(`TinyAGI home: ${ctx.home}`));
      for (const f of findings) {
        println(`${MARK[f.status]} ${f.message}${f.fixed ? style.green(` (fixed: ${f.fixed})`) : ''}`);
        if (f.hint && !f.fixed) println(`  ${style.dim(f.hint)}`);
      }
      println();
      println(failed === 0 ? style.green('No problems found.') : style.red(`${failed} problem${failed === 1 ? '' : 's'} found.`));
    }
    if (failed > 0) process.exitCode = 1;
  });
}
