'use client';
/** Chat: talk to any agent or team (the panel is shared with each agent's Chat tab). */
import { ChatPanel } from '@/components/chat-panel';

export default function ChatPage() {
  return (
    <>
      <h1 className="sr-only">Chat</h1>
      <ChatPanel />
    </>
  );
}
