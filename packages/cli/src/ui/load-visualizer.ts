/**
 * Loads @tinyagi/visualizer (Ink + React) on demand, so commands that do not draw a UI never pay
 * for it. React picks its build from NODE_ENV when first loaded: unless the user chose one, the
 * production build (its development build costs several times the CPU per frame).
 */
export async function loadVisualizer(): Promise<typeof import('@tinyagi/visualizer')> {
  process.env['NODE_ENV'] ??= 'production';
  return import('@tinyagi/visualizer');
}
