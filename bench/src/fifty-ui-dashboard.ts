/**
 * B27's dashboard process: the dashboard as `runVisualizer` composes it (store + daemon source
 * through @tinyagi/client + the Ink Dashboard at its default frame rate) on a 120×40 terminal
 * stream that counts what Ink writes. On "report" it sends its CPU, frames, Ink's render times and
 * the events it applied since the last report.
 */
import { PassThrough, Writable } from 'node:stream';

// As the CLI does before loading the UI: React's production build.
process.env['NODE_ENV'] ??= 'production';
const { createElement: h } = await import('react');
const { render } = await import('ink');
const { createApiClient } = await import('@tinyagi/client');
const { createStore, Dashboard, DEFAULT_FPS, initialState, reduce, startDashboardSource } = await import('@tinyagi/visualizer');

const { url, token } = JSON.parse(process.argv[2]!) as { url: string; token: string };
let bytes = 0;
const stdout = new Writable({
  write(chunk: Buffer | string, _encoding, callback) {
    bytes += chunk.length;
    callback();
  },
}) as unknown as NodeJS.WriteStream;
Object.assign(stdout, { isTTY: true, columns: 120, rows: 40 });
const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;

const client = createApiClient({ baseUrl: url, token });
const store = createStore(reduce, initialState('bench'), DEFAULT_FPS);
const source = startDashboardSource(client, store);
let renders: number[] = [];
const app = render(h(Dashboard, { store, actions: source.actions, color: true }), {
  stdout,
  stdin,
  patchConsole: false,
  exitOnCtrlC: false,
  maxFps: DEFAULT_FPS * 2,
  alternateScreen: true,
  onRender: ({ renderTime }) => void renders.push(renderTime),
});

let cpu = process.cpuUsage();
let events = store.getState().eventsSeen;
let since = performance.now();
process.on('message', (m: { type: string }) => {
  if (m.type === 'report') {
    const now = process.cpuUsage();
    const state = store.getState();
    process.send!({
      type: 'report',
      ms: performance.now() - since,
      cpuMs: (now.user - cpu.user + now.system - cpu.system) / 1000,
      renders,
      bytes,
      events: state.eventsSeen - events,
      connection: state.connection.state,
      rss: process.memoryUsage().rss,
    });
    cpu = now;
    events = state.eventsSeen;
    since = performance.now();
    renders = [];
    bytes = 0;
  }
  if (m.type === 'stop') {
    app.unmount();
    source.close();
    store.close();
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
