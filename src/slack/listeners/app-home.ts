// App Home: published when someone opens the bot's Home tab.
import { OPEN_STATES } from '../../store/requests.js';
import { homeView } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import type { Listeners } from '../router.js';

export function registerAppHome(listeners: Listeners, deps: SlackDeps): void {
  listeners.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const user = event.user;
    const mine = deps.store.requests.listByRequester(user, OPEN_STATES);
    const approving = await deps.access.approverEnvironments(user);
    const open = approving.length ? deps.store.requests.listInStates(['pending', 'revoke_failed']).filter((r) => approving.includes(r.env)) : [];
    const pending = open.filter((r) => r.state === 'pending' && r.requester !== user);
    const failing = open.filter((r) => r.state === 'revoke_failed');
    await client.views.publish({ user_id: user, view: homeView(mine, pending, failing) as never });
  });
}
