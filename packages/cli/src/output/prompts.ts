/**
 * Interactive prompts (@clack/prompts), used only on a terminal. Off a terminal every prompt
 * becomes a usage error that names the flag to pass instead. @clack/prompts is imported when a
 * prompt is shown: every command module imports this file, the daemon among them.
 */
import { CliError, usageError } from './cli-error.ts';
import { isInteractive } from './style.ts';

const loadClack = () => import('@clack/prompts');

function unwrap<T>(value: T): Exclude<T, symbol> {
  if (typeof value === 'symbol') throw new CliError('FAILED', 'Cancelled.');
  return value as Exclude<T, symbol>;
}

/** Asks yes/no; `--yes` answers yes. Off a terminal without `--yes` it refuses. */
export async function confirmOrRefuse(question: string, yes: boolean | undefined): Promise<void> {
  if (yes === true) return;
  if (!isInteractive()) throw usageError(`${question} Pass --yes to confirm.`);
  const answer = unwrap(await (await loadClack()).confirm({ message: question, initialValue: false }));
  if (!answer) throw new CliError('FAILED', 'Cancelled; nothing was changed.');
}

/** The flag value, else a prompt on a terminal, else a usage error naming the flag. */
export async function askText(
  value: string | undefined,
  options: { flag: string; message: string; placeholder?: string; initial?: string; validate?: (v: string) => string | undefined },
): Promise<string> {
  if (value !== undefined) {
    const problem = options.validate?.(value);
    if (problem !== undefined) throw usageError(`${options.flag}: ${problem}`);
    return value;
  }
  if (!isInteractive()) throw usageError(`Missing ${options.flag}.`, 'Pass it as a flag, or run the command in a terminal to be asked.');
  return unwrap(
    await (await loadClack()).text({
      message: options.message,
      ...(options.placeholder !== undefined ? { placeholder: options.placeholder } : {}),
      ...(options.initial !== undefined ? { initialValue: options.initial } : {}),
      ...(options.validate ? { validate: (v: string | undefined) => options.validate?.(v ?? '') } : {}),
    }),
  );
}

export async function askSelect<T extends string>(value: T | undefined, options: { flag: string; message: string; choices: readonly { value: T; label?: string; hint?: string }[] }): Promise<T> {
  if (value !== undefined) return value;
  if (!isInteractive()) throw usageError(`Missing ${options.flag}.`, `Use one of: ${options.choices.map((c) => c.value).join(', ')}.`);
  const picked = await (await loadClack()).select<T>({
    message: options.message,
    options: options.choices.map((c) => ({ value: c.value, label: c.label ?? c.value, ...(c.hint !== undefined ? { hint: c.hint } : {}) })) as never,
  });
  return unwrap(picked);
}

export async function askMultiSelect(value: string[] | undefined, options: { flag: string; message: string; choices: readonly string[]; min?: number }): Promise<string[]> {
  if (value !== undefined) return value;
  if (!isInteractive()) throw usageError(`Missing ${options.flag}.`);
  return unwrap(await (await loadClack()).multiselect<string>({ message: options.message, options: options.choices.map((c) => ({ value: c, label: c })) as never, required: (options.min ?? 0) > 0 }));
}

export async function askSecret(value: string | undefined, options: { flag: string; message: string }): Promise<string> {
  if (value !== undefined) return value;
  if (!isInteractive()) throw usageError(`Missing ${options.flag}.`);
  return unwrap(await (await loadClack()).password({ message: options.message }));
}
