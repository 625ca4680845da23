/**
 * Client side of B6/B7, run in its own process so client work does not count against the
 * server. argv[2] JSON: { mode: 'sse', url, token, subscribers, expect } |
 * { mode: 'load', urls: [{name, url}], token, connections, seconds }.
 */
import http from 'node:http';

const cfg = JSON.parse(process.argv[2]!) as
  | { mode: 'sse'; url: string; token: string; subscribers: number; expect: number }
  | { mode: 'load'; urls: Array<{ name: string; url: string }>; token: string; connections: number; seconds: number };

if (cfg.mode === 'sse') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const latencies: number[] = [];
  let connected = 0;
  let finished = 0;
  for (let i = 0; i < cfg.subscribers; i++) {
    const req = http.get(cfg.url, { agent, headers: { authorization: `Bearer ${cfg.token}`, accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      let got = 0;
      connected++;
      if (connected === cfg.subscribers) process.send?.({ type: 'connected' });
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let idx = buf.indexOf('\n\n'); idx >= 0; idx = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data:'));
          if (!data) continue;
          const payload = JSON.parse(data.slice(5)) as { data?: { sentAt?: number } };
          if (typeof payload.data?.sentAt !== 'number') continue;
          latencies.push(Date.now() - payload.data.sentAt);
          if (++got === cfg.expect) {
            res.destroy();
            if (++finished === cfg.subscribers) {
              process.send?.({ type: 'done', latencies });
            }
          }
        }
      });
    });
    req.on('error', (err) => process.send?.({ type: 'error', message: String(err) }));
  }
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections });
  const results: Record<string, number> = {};
  for (const target of cfg.urls) {
    let count = 0;
    const deadline = Date.now() + cfg.seconds * 1000;
    const loop = () =>
      new Promise<void>((resolve) => {
        const next = () => {
          if (Date.now() > deadline) return resolve();
          http
            .get(target.url, { agent, headers: { authorization: `Bearer ${cfg.token}` } }, (res) => {
              res.resume();
              res.on('end', () => {
                if (res.statusCode === 200) count++;
                next();
              });
            })
            .on('error', () => next());
        };
        next();
      });
    await Promise.all(Array.from({ length: cfg.connections }, loop));
    results[target.name] = count / cfg.seconds;
  }
  process.send?.({ type: 'done', results });
}
