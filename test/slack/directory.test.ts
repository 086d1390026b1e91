// The Slack directory: one usergroups.users.list call per group at a time however many checks wait on
// it, cached members for who may decide only while fresh, and recent members for what is only shown.
import type { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { slackDirectory } from '../../src/slack/notifier.js';

function fakeSlack() {
  const calls: string[] = [];
  let members = ['U1', 'U2'];
  let answer: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const client = {
    usergroups: {
      users: {
        list: ({ usergroup }: { usergroup: string }) => {
          calls.push(usergroup);
          return new Promise((resolve, reject) => {
            answer = { resolve: () => resolve({ ok: true, users: [...members] }), reject };
          });
        },
      },
    },
  } as unknown as WebClient;
  return {
    client,
    calls,
    setMembers: (next: string[]) => (members = next),
    answer: () => answer!.resolve(),
    fail: () => answer!.reject(new Error('ratelimited')),
  };
}

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) } as Clock & { advance(ms: number): void };
}

describe('slackDirectory', () => {
  it('sends one call per group while Slack is slow, however many checks wait for it', async () => {
    const slack = fakeSlack();
    const directory = slackDirectory(slack.client, manualClock());
    const waiting = Array.from({ length: 50 }, () => directory.groupMembers('S1'));
    expect(slack.calls).toEqual(['S1']);
    slack.answer();
    for (const members of await Promise.all(waiting)) expect(members).toEqual(['U1', 'U2']);
    expect(await directory.groupMembers('S1')).toEqual(['U1', 'U2']);
    expect(slack.calls).toEqual(['S1']);
  });

  it('asks again after a failed call instead of keeping the failure', async () => {
    const slack = fakeSlack();
    const directory = slackDirectory(slack.client, manualClock());
    const first = directory.groupMembers('S1');
    slack.fail();
    await expect(first).rejects.toThrow('ratelimited');
    const second = directory.groupMembers('S1');
    slack.answer();
    expect(await second).toEqual(['U1', 'U2']);
    expect(slack.calls).toEqual(['S1', 'S1']);
  });

  it('decides only on fresh members, but shows recent ones at once while one refresh runs', async () => {
    const slack = fakeSlack();
    const clock = manualClock();
    const directory = slackDirectory(slack.client, clock, 60_000, 600_000);
    expect(directory.knownGroupMembers('S1')).toBeUndefined();
    const loaded = directory.groupMembers('S1');
    slack.answer();
    await loaded;

    clock.advance(61_000);
    slack.setMembers(['U2']);
    // Shown: the last members, at once; one refresh is sent, not one per look.
    expect(directory.knownGroupMembers('S1')).toEqual(['U1', 'U2']);
    expect(directory.knownGroupMembers('S1')).toEqual(['U1', 'U2']);
    expect(slack.calls).toEqual(['S1', 'S1']);
    // Who may decide waits for Slack's answer: U1, removed from the group, is not an approver any more.
    const deciding = directory.groupMembers('S1');
    slack.answer();
    expect(await deciding).toEqual(['U2']);
    expect(directory.knownGroupMembers('S1')).toEqual(['U2']);
    expect(slack.calls).toHaveLength(2);

    clock.advance(601_000);
    expect(directory.knownGroupMembers('S1')).toBeUndefined();
  });
});
