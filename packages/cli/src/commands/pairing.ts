/**
 * `tinyagi pairing list|pending|approved|approve <code>|deny <code>|revoke <channel> <id>`
 * (`dismiss` and `unpair`, the older names of deny and revoke, stay as aliases).
 */
import type { Command } from 'commander';
import { connect } from '../daemon/connection.ts';
import { formatTime, printJson, printTable, println } from '../output/print.ts';
import { channelNames } from './channel.ts';
import { contextOf, withJson } from './options.ts';

export function registerPairingCommands(program: Command): void {
  const pairing = program.command('pairing').description('who may talk to your agents from chat channels');

  withJson(pairing.command('list').description('pending requests (with their codes) and approved senders, marked by status')).action(async (options: { json?: boolean }, cmd: Command) => {
    const { pending, approved } = await connect(contextOf(cmd)).client.listPairings();
    if (options.json) return printJson({ pending, approved });
    printTable(
      ['STATUS', 'CODE', 'CHANNEL', 'SENDER', 'SENDER ID', 'SINCE'],
      [
        ...pending.map((p) => ['pending', p.code, p.channel, p.sender, p.senderId, formatTime(p.createdAt)]),
        ...approved.map((p) => ['approved', '-', p.channel, p.sender, p.senderId, formatTime(p.approvedAt)]),
      ],
      'No pending pairing requests and no approved senders.',
    );
  });

  withJson(pairing.command('pending').description('senders waiting for approval, with their codes')).action(async (options: { json?: boolean }, cmd: Command) => {
    const { pending } = await connect(contextOf(cmd)).client.listPairings();
    if (options.json) return printJson(pending);
    printTable(
      ['CODE', 'CHANNEL', 'SENDER', 'SENDER ID', 'REQUESTED'],
      pending.map((p) => [p.code, p.channel, p.sender, p.senderId, formatTime(p.createdAt)]),
      'No pending pairing requests.',
    );
  });

  withJson(pairing.command('approved').description('approved senders')).action(async (options: { json?: boolean }, cmd: Command) => {
    const { approved } = await connect(contextOf(cmd)).client.listPairings();
    if (options.json) return printJson(approved);
    printTable(
      ['CHANNEL', 'SENDER', 'SENDER ID', 'APPROVED'],
      approved.map((p) => [p.channel, p.sender, p.senderId, formatTime(p.approvedAt)]),
      'No approved senders.',
    );
  });

  pairing
    .command('approve')
    .description('approve a pending sender by the code it was given')
    .argument('<code>', 'the 8-character pairing code')
    .action(async (code: string, _options: unknown, cmd: Command) => {
      const approved = await connect(contextOf(cmd)).client.approvePairing({ body: { code: code.trim().toUpperCase() } });
      println(`Approved ${approved.sender || approved.senderId} on ${approved.channel}.`);
    });

  pairing
    .command('deny')
    .alias('dismiss')
    .description('deny (dismiss) a pending request')
    .argument('<code>', 'the pairing code')
    .action(async (code: string, _options: unknown, cmd: Command) => {
      await connect(contextOf(cmd)).client.dismissPairing({ params: { code: code.trim().toUpperCase() } });
      println(`Denied ${code.trim().toUpperCase()}.`);
    });

  pairing
    .command('revoke')
    .alias('unpair')
    .description('revoke an approved sender')
    .argument('<channel>', channelNames().join(' | '))
    .argument('<senderId>', 'the sender id (see `tinyagi pairing list`)')
    .action(async (channel: string, senderId: string, _options: unknown, cmd: Command) => {
      await connect(contextOf(cmd)).client.revokePairing({ params: { channel, senderId } });
      println(`Revoked ${senderId} on ${channel}.`);
    });
}
