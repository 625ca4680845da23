/**
 * Colours for human output: on only when the stream is a terminal and NO_COLOR is unset
 * (FORCE_COLOR turns them on for piped output). `--json` output never goes through here.
 */
import pc from 'picocolors';

function colourWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') return false;
  if (process.env['FORCE_COLOR'] !== undefined && process.env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true;
}

export const style = pc.createColors(colourWanted(process.stdout));
export const errStyle = pc.createColors(colourWanted(process.stderr));

/** True when both ends of the terminal are interactive: prompts and spinners are allowed. */
export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && process.env['CI'] === undefined;
}
