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

type Colours = ReturnType<typeof pc.createColors>;

/**
 * Decided on first use, not at load time: the daemon's start-up snapshot loads this module
 * while it is built, and the streams then are the builder's (daemon/snapshot-entry.ts).
 */
function coloursFor(stream: () => NodeJS.WriteStream): Colours {
  let colours: Colours | undefined;
  return new Proxy({} as Colours, {
    get: (_, key) => {
      colours ??= pc.createColors(colourWanted(stream()));
      return colours[key as keyof Colours];
    },
  });
}

export const style = coloursFor(() => process.stdout);
export const errStyle = coloursFor(() => process.stderr);

/** True when both ends of the terminal are interactive: prompts and spinners are allowed. */
export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && process.env['CI'] === undefined;
}
