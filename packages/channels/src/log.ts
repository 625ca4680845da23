/** How a channel reports what an operator should see (the channel process writes it to its log). */
export type LogLevel = 'info' | 'warn' | 'error';
export type ChannelLog = (level: LogLevel, message: string) => void;
