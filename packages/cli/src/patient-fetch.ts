/**
 * A `fetch` for requests whose answer may take longer than fetch's own limit (undici's 300 s
 * headers timeout): a person deciding an approval or answering `ask_human`, a sub-agent called
 * with `tinyagi call` working for an hour. It goes over node:http(s), which waits as long as the
 * daemon holds the request; the caller's AbortSignal still ends it.
 */
// The default exports, read at the call: the daemon's start-up snapshot (scripts/bundle.mjs) loads
// node:http(s) lazily behind a proxy whose named exports a bundled import would not see.
import http from 'node:http';
import https from 'node:https';

/** `fetch` over node:http(s) without a limit on how long the answer may take (a person decides meanwhile). */
export const patientFetch: typeof fetch = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      reject(new TypeError('patientFetch sends string bodies only'));
      return;
    }
    const send = url.protocol === 'https:' ? https.request : http.request;
    const req = send(url, { method: init?.method ?? 'GET', headers, ...(init?.signal ? { signal: init.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(key, v);
        }
        const status = res.statusCode ?? 502;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: out }));
      });
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
