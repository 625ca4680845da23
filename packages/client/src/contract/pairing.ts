/** Pairing: which channel senders may talk to the agents. */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdText, NullableStr, NullableTimestamp, OkSchema, OptionalMax200, ShortText, Str, TimestampSchema } from './common.ts';

export const PendingPairingSchema = z.object({
  channel: Str,
  senderId: Str,
  sender: Str,
  code: Str,
  createdAt: TimestampSchema,
  lastSeenAt: NullableTimestamp,
});
export const ApprovedPairingSchema = z.object({
  channel: Str,
  senderId: Str,
  sender: Str,
  approvedAt: TimestampSchema,
  lastSeenAt: NullableTimestamp,
});
export type PendingPairing = z.infer<typeof PendingPairingSchema>;
export type ApprovedPairing = z.infer<typeof ApprovedPairingSchema>;

const channel = ShortText;
const senderId = IdText;

export const pairingContract = {
  listPairings: route({
    method: 'GET',
    path: '/api/pairing',
    summary: 'Pending requests and approved senders',
    tag: 'pairing',
    response: z.object({ pending: z.array(PendingPairingSchema), approved: z.array(ApprovedPairingSchema) }),
  }),
  checkSender: route({
    method: 'POST',
    path: '/api/pairing/check',
    summary: 'Channel clients: is this sender let in? A sender check, on every message; creates nothing (records when an approved sender was last seen)',
    tag: 'pairing',
    auth: 'channel',
    body: z.object({ channel, senderId, sender: OptionalMax200 }),
    response: z.object({ approved: Bool }),
  }),
  requestPairing: route({
    method: 'POST',
    path: '/api/pairing/request',
    summary: 'Channel clients: a sender not let in asks for it: a pending request with a code (created once, then reused); answers approved for a sender already let in',
    tag: 'pairing',
    auth: 'channel',
    rateLimit: 'pairing',
    body: z.object({ channel, senderId, sender: OptionalMax200 }),
    response: z.object({ status: z.enum(['approved', 'pending']), code: NullableStr, created: Bool }),
  }),
  approvePairing: route({
    method: 'POST',
    path: '/api/pairing/approve',
    summary: 'Approve a pending request by its code',
    tag: 'pairing',
    rateLimit: 'pairing',
    body: z.object({ code: z.string().min(1).max(32) }),
    response: ApprovedPairingSchema,
  }),
  dismissPairing: route({
    method: 'DELETE',
    path: '/api/pairing/pending/:code',
    summary: 'Dismiss a pending request',
    tag: 'pairing',
    params: z.object({ code: z.string().min(1).max(32) }),
    response: OkSchema,
  }),
  revokePairing: route({
    method: 'DELETE',
    path: '/api/pairing/approved/:channel/:senderId',
    summary: 'Revoke an approved sender',
    tag: 'pairing',
    params: z.object({ channel, senderId }),
    response: OkSchema,
  }),
} as const;
