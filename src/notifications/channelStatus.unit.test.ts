import { describe, expect, it } from 'vitest';
import { type ChannelHealth, unknownChannelHealth } from '../../domain/notification/channelHealth.ts';
import { channelStatus } from './channelStatus.ts';

const degraded: ChannelHealth = {
  ...unknownChannelHealth(),
  state: 'degraded',
  consecutiveFailures: 4,
  lastFailureAt: '2026-12-07T09:00:00.000Z',
  lastError: 'HTTP 500: boom',
  lastStatusCode: 500,
};
const healthy: ChannelHealth = { ...unknownChannelHealth(), lastSuccessAt: '2026-12-07T09:01:00.000Z' };

describe('channel status of a NotificationPolicy', () => {
  it('lists attempted channels in spec order and names the degraded ones in the Degraded condition', () => {
    const out = channelStatus(
      ['slack', 'pager', 'never-used'],
      new Map([
        ['pager', healthy],
        ['slack', degraded],
      ]),
    );
    expect(out.channels.map((c) => [c.name, c.state])).toEqual([
      ['slack', 'Degraded'],
      ['pager', 'Healthy'],
    ]);
    expect(out.channels[0]).toMatchObject({ consecutiveFailures: 4, lastError: 'HTTP 500: boom' });
    expect(out.channels[1]).toMatchObject({ lastSuccessTime: '2026-12-07T09:01:00.000Z' });
    expect(out.degraded.status).toBe('True');
    expect(out.degraded.message).toContain('slack: 4 failed in a row, last: HTTP 500: boom');
    expect(out.degraded.message).not.toContain('pager');
  });

  it('says False when every channel gets through, and leaves out channels the spec no longer declares', () => {
    const out = channelStatus(
      ['pager'],
      new Map([
        ['gone', degraded],
        ['pager', healthy],
      ]),
    );
    expect(out.degraded.status).toBe('False');
    expect(out.channels.map((c) => c.name)).toEqual(['pager']);
  });
});
