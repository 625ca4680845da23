/** A channel's state in the words and colours of every surface (`tinyagi status`, the TUI: docs/channels.md#channel-states). */
import { channelStateText, channelStateTone, type ChannelStatus } from '@tinyagi/client';

const CHANNEL_TONE_CLASS: Record<ReturnType<typeof channelStateTone>, string> = {
  good: 'text-emerald-700 dark:text-emerald-300',
  waiting: 'text-amber-700 dark:text-amber-300',
  off: 'text-slate-600 dark:text-slate-400',
  bad: 'text-red-800 dark:text-red-300',
};

/** The state's words (its error goes beside it: ChannelError). */
export function ChannelState({ channel, testId }: { channel: ChannelStatus; testId: string }) {
  return (
    <span data-testid={testId} className={CHANNEL_TONE_CLASS[channelStateTone(channel.state)]}>
      {channelStateText({ ...channel, lastError: null })}
    </span>
  );
}

/** Why a channel is not connected (the platform's or the network's error, or the fix for a rejected token); nothing once connected. */
export function ChannelError({ channel, className = '' }: { channel: ChannelStatus; className?: string }) {
  if (!channel.lastError || channel.state === 'connected') return null;
  return <span className={`text-xs text-red-800 dark:text-red-300 ${className}`}>{channel.lastError}</span>;
}
