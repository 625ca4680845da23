/**
 * B9's dashboard process: the dashboard exactly as `runVisualizer` composes it (store + daemon
 * source through @tinyagi/client + the Ink Dashboard at 10 fps), drawing on an 80x24 terminal
 * stream that counts what Ink writes. Reports its own CPU, memory and frames once a second to
 * the parent over IPC.
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
let writes = 0;
const stdout = new Writable({
  write(chunk: Buffer | string, _encoding, callback) {
    bytes += chunk.length;
    writes += 1;
    callback();
  },
}) as unknown as NodeJS.WriteStream;
Object.assign(stdout, { isTTY: true, columns: 80, rows: 24 });
const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;

const client = createApiClient({ baseUrl: url, token });
const store = createStore(reduce, initialState('bench'), DEFAULT_FPS);
const source = startDashboardSource(client, store);
let frames = 0;
const app = render(h(Dashboard, { store, actions: source.actions, color: true }), {
  stdout,
  stdin,
  patchConsole: false,
  exitOnCtrlC: false,
  maxFps: DEFAULT_FPS * 2,
  alternateScreen: true,
  onRender: () => {
    frames += 1;
  },
});

let cpu = process.cpuUsage();
const sample = (): void => {
  const now = process.cpuUsage();
  const cpuMs = (now.user - cpu.user + now.system - cpu.system) / 1000;
  cpu = now;
  const state = store.getState();
  process.send!({
    type: 'sample',
    cpuMs,
    rss: process.memoryUsage().rss,
    heapUsed: process.memoryUsage().heapUsed,
    frames,
    writes,
    bytes,
    events: state.eventsSeen,
    lastEventId: state.lastEventId,
    connection: state.connection.state,
  });
};
setInterval(sample, 1000);
process.on('message', (m: { type: string }) => {
  if (m.type === 'gc') {
    globalThis.gc?.();
    process.send!({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss });
  }
  if (m.type === 'stop') {
    app.unmount();
    source.close();
    store.close();
    process.exit(0);
  }
});
