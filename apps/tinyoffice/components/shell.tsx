'use client';
/**
 * The frame of every page: a skip link, navigation, the connection badge, theme and logout; the
 * document title (the page's section, and what a page names with usePageTitle, e.g. "@coder");
 * and the gate that tells the user what to do when there is no session or no daemon. The login
 * page renders bare.
 */
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { createContext, useContext, useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import { countPending } from '@/lib/approvals';
import { logout, startLive } from '@/lib/live';
import { useStore } from '@/lib/store';
import { QuotaBanner } from './quota-banner';

const NAV = [
  { href: '/', label: 'Office' },
  { href: '/conversations', label: 'Conversations' },
  { href: '/chat', label: 'Chat' },
  { href: '/approvals', label: 'Approvals' },
  { href: '/memory', label: 'Memory' },
  { href: '/agents', label: 'Agents' },
  { href: '/teams', label: 'Teams' },
  { href: '/projects', label: 'Projects' },
  { href: '/schedules', label: 'Schedules' },
  { href: '/workflows', label: 'Workflows' },
  { href: '/usage', label: 'Usage' },
  { href: '/logs', label: 'Logs' },
  { href: '/control', label: 'Control' },
  { href: '/settings', label: 'Settings' },
];

const isActive = (href: string, path: string): boolean => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));

/** The section a path belongs to, as the navigation names it. */
function sectionOf(path: string): string {
  if (path.startsWith('/login')) return 'Log in';
  return NAV.find((item) => isActive(item.href, path))?.label ?? 'Page not found';
}

/** Lets a page name what it shows (an agent, a team, a conversation) in the document title. */
const TitleContext = createContext<(title: { path: string; text: string } | null) => void>(() => {});

/** The page's own part of the document title ("@coder" -> "@coder · Agents · TinyOffice"); null: the section only. */
export function usePageTitle(text: string | null): void {
  const setTitle = useContext(TitleContext);
  const path = usePathname();
  useEffect(() => {
    setTitle(text ? { path, text } : null);
    return () => setTitle(null);
  }, [setTitle, path, text]);
}

export function Shell({ children }: { children: ReactNode }) {
  const path = usePathname();
  const [own, setOwn] = useState<{ path: string; text: string } | null>(null);
  const title = [own?.path === path ? own.text : null, sectionOf(path), 'TinyOffice'].filter(Boolean).join(' · ');
  return (
    <TitleContext.Provider value={setOwn}>
      <title>{title}</title>
      {path === '/login' || path === '/login/' ? (
        <main id="main" className="mx-auto max-w-lg p-6">
          {children}
        </main>
      ) : (
        <Portal path={path}>{children}</Portal>
      )}
    </TitleContext.Provider>
  );
}

function Portal({ path, children }: { path: string; children: ReactNode }) {
  const router = useRouter();
  const auth = useStore((s) => s.auth);
  const waiting = useStore((s) => countPending(s.approvals));
  const proposals = useStore((s) => s.memoryProposals.length);
  const navRef = useCurrentLinkInView(path);
  useEffect(() => startLive(), []);
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only z-30 rounded bg-slate-900 px-3 py-2 text-white focus:not-sr-only focus:fixed focus:top-2 focus:left-2 dark:bg-slate-100 dark:text-slate-900">
        Skip to main content
      </a>
      {/* Sticky from sm up; on a phone the wrapped navigation would cover a third of the screen. */}
      <header className="z-20 border-b sm:sticky sm:top-0 border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-3 gap-y-2 px-4 py-2">
          <Link href="/" className="font-semibold tracking-tight">
            TinyOffice
          </Link>
          {/* On a phone: one row under the title that scrolls sideways (the current page's link scrolled into view), not four wrapped rows. */}
          <nav
            ref={navRef}
            aria-label="Main"
            className="relative order-last -mx-4 flex w-[calc(100%+2rem)] gap-1 overflow-x-auto px-4 text-sm sm:order-none sm:mx-0 sm:w-auto sm:flex-wrap sm:overflow-visible sm:px-0"
          >
            {NAV.map((item) => {
              const active = isActive(item.href, path);
              return (
                <Link
                  key={item.href}
                  href={item.href}
                  aria-current={active ? 'page' : undefined}
                  className={`shrink-0 whitespace-nowrap rounded px-1 py-1 ${active ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900' : 'hover:bg-slate-100 dark:hover:bg-slate-800'}`}
                >
                  {item.label}
                  {item.href === '/approvals' && <PendingCount count={waiting} testId="approvals-count" />}
                  {item.href === '/memory' && <PendingCount count={proposals} testId="memory-count" />}
                </Link>
              );
            })}
          </nav>
          <div className="ml-auto flex items-center gap-2 text-sm">
            <ConnectionBadge />
            <ThemeToggle />
            {auth === 'ok' && (
              <button
                type="button"
                className="rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
                onClick={() => void logout().then(() => router.push('/login'))}
              >
                Log out
              </button>
            )}
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-7xl flex-1 p-4 focus:outline-none">
        <ReconnectBanner />
        <QuotaBanner />
        <Gate>{children}</Gate>
      </main>
    </div>
  );
}

/** A navigation row that scrolls (a phone's): scrolls the current page's link to its middle when the page changes, without moving the page. */
function useCurrentLinkInView(path: string): RefObject<HTMLElement | null> {
  const ref = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const nav = ref.current;
    const current = nav?.querySelector<HTMLElement>('[aria-current="page"]');
    if (!nav || !current || nav.scrollWidth <= nav.clientWidth) return;
    nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
  }, [path]);
  return ref;
}

/** How many approval requests (lib/approvals.ts) or memory proposals wait for a person, kept live by the event stream; nothing when none (display: none). */
function PendingCount({ count, testId }: { count: number; testId: string }) {
  return (
    <span
      data-testid={testId}
      data-count={count}
      className={count > 0 ? 'ml-1 inline-block min-w-5 rounded-full bg-violet-700 px-1.5 text-center text-xs font-semibold leading-5 text-white' : 'hidden'}
    >
      {/* The link's name says it: "Approvals 2 waiting", "Memory 1 waiting". */}
      <span className="sr-only"> </span>
      {count}
      <span className="sr-only"> waiting</span>
    </span>
  );
}

function ConnectionBadge() {
  const auth = useStore((s) => s.auth);
  const connection = useStore((s) => s.connection);
  const everOpen = useStore((s) => s.everOpen);
  if (auth !== 'ok') return null;
  const [label, tone] =
    connection === 'open'
      ? ['live', 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100']
      : connection === 'reconnecting' || (connection === 'connecting' && everOpen)
        ? ['reconnecting…', 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100']
        : connection === 'closed'
          ? ['disconnected', 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100']
          : ['connecting…', 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100'];
  return (
    <span role="status" aria-live="polite" data-testid="connection" data-state={connection} className={`rounded-full px-2 py-0.5 text-xs font-medium ${tone}`}>
      {label}
    </span>
  );
}

/** Says plainly that the live view is paused and what to do, while the stream reconnects by itself. */
function ReconnectBanner() {
  const auth = useStore((s) => s.auth);
  const connection = useStore((s) => s.connection);
  const everOpen = useStore((s) => s.everOpen);
  const info = useStore((s) => s.connectionInfo);
  if (auth !== 'ok' || !everOpen || (connection !== 'reconnecting' && connection !== 'closed')) return null;
  return (
    <div
      role="alert"
      data-testid="reconnect-banner"
      className="mb-4 rounded-lg border border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      {connection === 'closed' ? (
        <>The live connection to the daemon ended{info.error ? ` (${info.error.message})` : ''}. Reload the page to try again.</>
      ) : (
        <>
          Lost the connection to the daemon; reconnecting{info.attempt > 1 ? ` (try ${info.attempt})` : ''}… What you see may be out of date until it is back. If the daemon stopped, start it with{' '}
          <Code>tinyagi start</Code>: this page picks up where it left off.
        </>
      )}
    </div>
  );
}

/** Follows the page's theme: the `dark` class on <html> (set before paint by layout.tsx, flipped by the toggle). */
export function useDarkTheme(): boolean {
  const [dark, setDark] = useState(false);
  useEffect(() => {
    const root = document.documentElement;
    const read = () => setDark(root.classList.contains('dark'));
    read();
    const observer = new MutationObserver(read);
    observer.observe(root, { attributes: true, attributeFilter: ['class'] });
    return () => observer.disconnect();
  }, []);
  return dark;
}

function ThemeToggle() {
  const dark = useDarkTheme();
  return (
    <button
      type="button"
      aria-label="Toggle dark theme"
      aria-pressed={dark}
      className="rounded border border-slate-300 px-2 py-1 hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
      onClick={() => {
        const dark = document.documentElement.classList.toggle('dark');
        try {
          localStorage.setItem('tinyoffice-theme', dark ? 'dark' : 'light');
        } catch {
          // Storage blocked: the theme lasts for this page only.
        }
      }}
    >
      ◐
    </button>
  );
}

function Gate({ children }: { children: ReactNode }) {
  const auth = useStore((s) => s.auth);
  const error = useStore((s) => s.authError);
  if (auth === 'ok') return <>{children}</>;
  if (auth === 'checking') return <p className="text-slate-600 dark:text-slate-300">Connecting to TinyAGI…</p>;
  if (auth === 'anonymous') {
    return (
      <Notice title="You are not logged in">
        Run <Code>tinyagi office</Code> in a terminal: it opens a one-time login link for this daemon.
      </Notice>
    );
  }
  return (
    <Notice title="The TinyAGI daemon is not reachable">
      Start it with <Code>tinyagi start</Code>, then run <Code>tinyagi office</Code>.{error && <span className="mt-2 block text-xs text-slate-500 dark:text-slate-400">{error}</span>}
      <button type="button" className="mt-3 block rounded bg-slate-900 px-3 py-1 text-white dark:bg-slate-100 dark:text-slate-900" onClick={() => startLive()}>
        Try again
      </button>
    </Notice>
  );
}

export function Notice({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="mx-auto mt-10 max-w-xl rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
      <h1 className="mb-2 text-lg font-semibold">{title}</h1>
      <div className="text-slate-700 dark:text-slate-300">{children}</div>
    </section>
  );
}

export function Code({ children }: { children: ReactNode }) {
  return <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-sm dark:bg-slate-800">{children}</code>;
}
