// The router: one Bolt listener per kind of request, handing each request to the handler registered for
// its command name, action id or callback id.
import type { App } from '@slack/bolt';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { routeListeners } from '../../src/slack/router.js';

type Registered = { kind: string; matcher: unknown; listener: (args: Record<string, unknown>) => Promise<void> };

/** The part of a Bolt App the router uses, recording what is registered on it. */
function fakeApp() {
  const registered: Registered[] = [];
  const on = (kind: string) => (matcher: unknown, listener: Registered['listener']) => void registered.push({ kind, matcher, listener });
  const app = { command: on('command'), action: on('action'), view: on('view'), event: on('event') } as unknown as App;
  const boltListener = (kind: string) => registered.find((r) => r.kind === kind)!.listener;
  return { app, registered, boltListener };
}

const log = createLogger({ level: 'silent' });

describe('routeListeners', () => {
  it('registers one Bolt listener per kind, however many handlers are added', () => {
    const { app, registered } = fakeApp();
    const listeners = routeListeners(app, log);
    for (const id of ['a', 'b', 'c', 'd']) listeners.action(id, async () => {});
    listeners.view('form', async () => {});
    listeners.command('/dbuser', async () => {});
    listeners.command('/interop', async () => {});

    expect(registered.map((r) => r.kind).sort()).toEqual(['action', 'command', 'view']);
  });

  it('hands each request to the handler of its id, with the arguments Bolt gave', async () => {
    const { app, boltListener } = fakeApp();
    const listeners = routeListeners(app, log);
    const seen: string[] = [];
    listeners.action('approve', async (args) => void seen.push(`approve ${args.body.user.id}`));
    listeners.action('deny', async () => void seen.push('deny'));
    listeners.command('/dbuser', async (args) => void seen.push(`dbuser ${args.command.text}`));
    listeners.view('reason', async (args) => void seen.push(`reason ${args.view.private_metadata}`));
    const ack = vi.fn(async () => {});

    await boltListener('action')({ action: { action_id: 'deny' }, body: { user: { id: 'U1' } }, ack });
    await boltListener('action')({ action: { action_id: 'approve' }, body: { user: { id: 'U2' } }, ack });
    await boltListener('command')({ command: { command: '/dbuser', text: 'list' }, ack });
    await boltListener('view')({ view: { callback_id: 'reason', private_metadata: 'r_1' }, ack });

    expect(seen).toEqual(['deny', 'approve U2', 'dbuser list', 'reason r_1']);
    expect(ack).not.toHaveBeenCalled();
  });

  it('acknowledges a request with no handler, so Slack shows no error', async () => {
    const { app, boltListener } = fakeApp();
    const listeners = routeListeners(app, log);
    const handler = vi.fn(async () => {});
    listeners.action('approve', handler);
    const ack = vi.fn(async () => {});

    await boltListener('action')({ action: { action_id: 'open_link' }, body: { user: { id: 'U1' } }, ack });
    await boltListener('command')({ command: { command: '/other', text: '' }, ack });
    await boltListener('view')({ view: { callback_id: 'other' }, ack });

    expect(ack).toHaveBeenCalledTimes(3);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a second handler for the same id, which would silently replace the first', () => {
    const listeners = routeListeners(fakeApp().app, log);
    listeners.action('approve', async () => {});

    expect(() => listeners.action('approve', async () => {})).toThrow('two listeners for the action approve');
  });

  it('passes a handler error back to Bolt, whose error handler logs it', async () => {
    const { app, boltListener } = fakeApp();
    routeListeners(app, log).command('/dbuser', async () => {
      throw new Error('boom');
    });

    await expect(boltListener('command')({ command: { command: '/dbuser', text: '' }, ack: async () => {} })).rejects.toThrow('boom');
  });
});
