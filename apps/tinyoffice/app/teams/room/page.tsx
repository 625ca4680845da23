'use client';
/**
 * A team's chat room, live: the latest page, then every new post as the `chatroom.message`
 * event announces it (fetched with the `after` cursor, so nothing is repeated or skipped), older
 * pages on demand with the `before` cursor, and a post box (posted as `user`, delivered to every
 * member).
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ChatroomMessage, Team } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { mergePosts } from '@/lib/chatroom';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { Avatar, Button, ErrorLine, Panel } from '@/components/ui';
import { usePageTitle } from '@/components/shell';

const PAGE_SIZE = 50;

export default function ChatRoomPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <RoomFromQuery />
    </Suspense>
  );
}

function RoomFromQuery() {
  const id = useSearchParams().get('id');
  usePageTitle(id ? `#${id} chat room` : null);
  if (!id) {
    return (
      <p>
        No team selected.{' '}
        <Link className="underline" href="/teams">
          Pick one on the Teams page.
        </Link>
      </p>
    );
  }
  return <Room key={id} teamId={id} />;
}

function Room({ teamId }: { teamId: string }) {
  const team = useStore((s) => s.teams.find((t) => t.id === teamId));
  const [posts, setPosts] = useState<ChatroomMessage[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const cursor = useRef(0);
  const catchingUp = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const list = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);

  /** Fetches everything after the cursor; one at a time (a burst of events runs it once more at most). */
  const catchUp = useCallback(async (): Promise<void> => {
    if (catchingUp.current) {
      again.current = true;
      return catchingUp.current;
    }
    const run = async () => {
      do {
        again.current = false;
        for (;;) {
          const page = await api().getChatroom({ params: { id: teamId }, query: { after: cursor.current, limit: 500 } });
          cursor.current = Math.max(cursor.current, page.nextCursor);
          setPosts((p) => mergePosts(p, page.messages));
          if (page.messages.length < 500) break;
        }
      } while (again.current);
    };
    catchingUp.current = run()
      .catch((err: unknown) => setError(messageOf(err)))
      .finally(() => (catchingUp.current = null));
    return catchingUp.current;
  }, [teamId]);

  useEffect(() => {
    api()
      .getChatroom({ params: { id: teamId }, query: { limit: PAGE_SIZE } })
      .then((page) => {
        cursor.current = Math.max(cursor.current, page.nextCursor);
        setPosts((p) => mergePosts(p, page.messages));
        setHasOlder(page.hasOlder);
        setLoaded(true);
      })
      .catch((err: unknown) => setError(messageOf(err)));
  }, [teamId]);

  useLiveEvents((events) => {
    if (loaded && events.some((e) => e.type === 'chatroom.message' && e.data.teamId === teamId)) void catchUp();
  });

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [posts]);

  async function loadOlder() {
    const oldest = posts[0]?.id;
    if (oldest === undefined) return;
    setLoadingOlder(true);
    stickToBottom.current = false;
    try {
      const el = list.current;
      const before = el ? el.scrollHeight - el.scrollTop : 0;
      const page = await api().getChatroom({ params: { id: teamId }, query: { before: oldest, limit: PAGE_SIZE } });
      setPosts((p) => mergePosts(p, page.messages));
      setHasOlder(page.hasOlder);
      // Keep the reader where they were: the older page grows the list above them.
      requestAnimationFrame(() => {
        if (el) el.scrollTop = el.scrollHeight - before;
      });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setLoadingOlder(false);
    }
  }

  async function send(e: FormEvent) {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    setSending(true);
    setError(null);
    try {
      await api().postChatroom({ params: { id: teamId }, body: { message } });
      setText('');
      stickToBottom.current = true;
      await catchUp();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSending(false);
    }
  }

  return (
    <div className="space-y-4">
      <RoomHeading teamId={teamId} team={team} />
      <ErrorLine error={error} />
      <Panel title="Messages">
        {hasOlder && (
          <div className="mb-2 text-center">
            <Button onClick={() => void loadOlder()} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Load older messages'}
            </Button>
          </div>
        )}
        <ol
          ref={list}
          data-testid="chatroom"
          data-count={posts.length}
          aria-label={`Messages of #${teamId}`}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrollable log must be reachable by keyboard to scroll it
          tabIndex={0}
          onScroll={(e) => {
            const el = e.currentTarget;
            stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
          className="max-h-[60vh] space-y-2 overflow-y-auto"
        >
          {loaded && posts.length === 0 && <li className="text-sm text-slate-600 dark:text-slate-300">No messages yet. Agents post here with [#{teamId}: …]; you can write below.</li>}
          {posts.map((p) => (
            <RoomPost key={p.id} post={p} />
          ))}
        </ol>
        <PostForm teamId={teamId} text={text} onText={setText} sending={sending} onSubmit={(e) => void send(e)} />
      </Panel>
    </div>
  );
}

/** The room's heading: the team, its leader and members, and the way back to every team. */
function RoomHeading({ teamId, team }: { teamId: string; team: Team | undefined }) {
  return (
    <div className="flex flex-wrap items-baseline gap-2">
      <h1 className="text-xl font-semibold">
        Chat room <span className="font-mono">#{teamId}</span>
      </h1>
      {team && (
        <p className="text-sm text-slate-600 dark:text-slate-300">
          {team.name ? `${team.name} · ` : ''}leader @{team.leader_agent} · members {(team.agents ?? []).map((a) => `@${a}`).join(', ')}
        </p>
      )}
      <Link className="ml-auto text-sm underline" href="/teams">
        All teams
      </Link>
    </div>
  );
}

/** One post: who wrote it (you, or an agent) and when. */
function RoomPost({ post: p }: { post: ChatroomMessage }) {
  return (
    <li data-post-id={p.id} className="flex gap-2">
      <Avatar id={p.fromAgent} size="sm" />
      <div className="min-w-0">
        <div className="text-xs text-slate-600 dark:text-slate-300">
          <span className="font-medium text-slate-900 dark:text-slate-100">{p.fromAgent === 'user' ? 'you' : `@${p.fromAgent}`}</span> ·{' '}
          <time dateTime={new Date(p.createdAt).toISOString()}>{new Date(p.createdAt).toLocaleString()}</time>
        </div>
        <p className="whitespace-pre-wrap break-words text-sm">{p.content}</p>
      </div>
    </li>
  );
}

/** The post box: Enter posts to every member, Shift+Enter is a new line. */
function PostForm({ teamId, text, onText, sending, onSubmit }: { teamId: string; text: string; onText: (text: string) => void; sending: boolean; onSubmit: (e: FormEvent) => void }) {
  return (
    <form onSubmit={onSubmit} className="mt-3 flex gap-2">
      <label htmlFor="room-input" className="sr-only">
        Message to #{teamId}
      </label>
      <textarea
        id="room-input"
        rows={2}
        value={text}
        onChange={(e) => onText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            e.currentTarget.form?.requestSubmit();
          }
        }}
        placeholder={`Write to every member of #${teamId}…`}
        className="flex-1 rounded border border-slate-300 bg-white p-2 text-sm dark:border-slate-600 dark:bg-slate-900"
      />
      <Button type="submit" tone="primary" disabled={sending || !text.trim()}>
        Post
      </Button>
    </form>
  );
}
