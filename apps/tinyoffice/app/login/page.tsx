'use client';
/**
 * Exchanges the one-time code of the login link (in the URL fragment, which no server sees) for
 * the session cookie. The fragment is removed from the address bar and history first, so the
 * code is never left behind even if the exchange fails.
 */
import { useEffect, useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { Code, Notice } from '@/components/shell';

export default function LoginPage() {
  const [state, setState] = useState<{ phase: 'working' | 'no-code' | 'failed'; message?: string }>({ phase: 'working' });
  useEffect(() => {
    const code = new URLSearchParams(window.location.hash.slice(1)).get('code');
    window.history.replaceState(null, '', '/login');
    if (!code) {
      setState({ phase: 'no-code' });
      return;
    }
    api()
      .createSession({ body: { code } })
      .then(() => window.location.replace('/'))
      .catch((err: unknown) => setState({ phase: 'failed', message: messageOf(err) }));
  }, []);
  if (state.phase === 'working') return <p>Logging in…</p>;
  return (
    <Notice title={state.phase === 'failed' ? 'This login link cannot be used' : 'Log in to TinyOffice'}>
      {state.message && (
        <p className="mb-2" role="alert">
          {state.message}
        </p>
      )}
      <p>
        Run <Code>tinyagi office</Code> in a terminal for a new one-time link.
      </p>
    </Notice>
  );
}
