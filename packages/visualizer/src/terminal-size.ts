/**
 * The terminal's size as React state, updated on resize. Ink erases its previous frame by line
 * count, and its first frame after a narrower resize is still the old layout (the components
 * have not seen the new size yet), so on a terminal (our own alternate screen) the whole screen
 * is cleared before the new layout is drawn: nothing of the old frame stays behind.
 */
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';
import { streamSize } from './paint.ts';

const CLEAR_SCREEN = '\u001b[2J\u001b[H';

export function useTerminalSize(width?: number, height?: number): { width: number; height: number } {
  const { stdout } = useStdout();
  const read = (): { width: number; height: number } => {
    const size = streamSize(stdout);
    return { width: width ?? size.width, height: height ?? size.height };
  };
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => {
      if ((stdout as Partial<NodeJS.WriteStream>).isTTY === true) stdout.write(CLEAR_SCREEN);
      setSize(read());
    };
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout, width, height]);
  return width !== undefined && height !== undefined ? { width, height } : size;
}
