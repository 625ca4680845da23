'use client';
/**
 * Exchanges the one-time code of the login link (in the URL fragment, which no server sees) for
 * the session cookie. The fragment is removed from the address bar and history first, so the
 * code is never left behind even if the exchange fails. A browser that is already logged in
 * goes straight to the office (the link is not spent); a link that cannot be used says why:
 * already used, expired, not made by this daemon, or cut short when it was copied.
 */
import { isApiError } from '@tinyagi/client';
import { useEffect, useState } from 'react';
import { api, messageOf } from '@/lib/api';
import { Code, Notice } from '@/components/shell';

/** A login code is 24 random bytes in base64url. */
const CODE_FORMAT = /^[A-Za-z0-9_-]{32}$/;

type Phase = 'working' | 'no-code' | 'malformed' | 'used' | 'expired' | 'unknown' | 'failed';

const REFUSALS: Partial<Record<Phase, { title: string; text: string }>> = {
  malformed: { title: 'This login link is incomplete', text: 'Part of the link is missing or changed, perhaps cut off when it was copied. Copy the whole link again, or make a new one.' },
  used: { title: 'This login link was already used', text: 'This link was already used: each link logs in one browser, once.' },
  expired: { title: 'This login link has expired', text: 'This link has expired: links work for 5 minutes after they are made.' },
  unknown: { title: 'This login link is not from this daemon', text: 'This daemon did not make this link. It may be from another TinyAGI, or the daemon restarted after making it.' },
};

export default function LoginPage() {
  const [state, setState] = useState<{ phase: Phase; message?: string }>({ phase: 'working' });
  useEffect(() => {
    const code = new URLSearchParams(window.location.hash.slice(1)).get('code');
    window.history.replaceState(null, '', '/login');
    void (async () => {
      if (await hasSession()) {
        window.location.replace('/');
        return;
      }
      if (!code) return setState({ phase: 'no-code' });
      if (!CODE_FORMAT.test(code)) return setState({ phase: 'malformed' });
      try {
        await api().createSession({ body: { code } });
        window.location.replace('/');
      } catch (err) {
        const reason = isApiError(err, 'LOGIN_CODE_INVALID') ? (err.details as { reason?: unknown } | undefined)?.reason : undefined;
        if (reason === 'used' || reason === 'expired' || reason === 'unknown') setState({ phase: reason });
        else setState({ phase: 'failed', message: messageOf(err) });
      }
    })();
  }, []);
  if (state.phase === 'working') return <p role="status">Logging in…</p>;
  const refusal = REFUSALS[state.phase];
  const title = refusal?.title ?? (state.phase === 'failed' ? 'Could not log in' : 'Log in to TinyOffice');
  return (
    <Notice title={title}>
      {refusal && (
        <p className="mb-2" role="alert" data-testid="login-reason" data-reason={state.phase}>
          {refusal.text}
        </p>
      )}
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

/** Whether this browser already holds a valid session (any failure counts as no). */
async function hasSession(): Promise<boolean> {
  try {
    return (await api().getSession()).kind === 'session';
  } catch {
    return false;
  }
}
