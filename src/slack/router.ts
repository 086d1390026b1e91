// One Bolt listener per kind of request (slash command, button click, form submission), each routing
// by command name, action id or callback id to the handlers the listener modules register.
//
// Why not one Bolt listener per button: for every request Bolt runs the middleware of every registered
// listener, copying the listener arguments for each, so its cost grows with their number. With one
// listener per button and form (18 of them) that copying was half of all the memory the bot allocated
// per request (heap sampling under the ack benchmark), on the event loop that acknowledges requests.
import type { App, BlockButtonAction, Middleware, SlackActionMiddlewareArgs, SlackCommandMiddlewareArgs, SlackViewMiddlewareArgs } from '@slack/bolt';
import type { Logger } from '../log.js';

export type CommandListener = Middleware<SlackCommandMiddlewareArgs>;
export type ButtonListener = Middleware<SlackActionMiddlewareArgs<BlockButtonAction>>;
export type ViewListener = Middleware<SlackViewMiddlewareArgs>;

/** What the listener modules register on: Bolt's methods of the same names, one handler per id. */
export interface Listeners {
  command(name: string, listener: CommandListener): void;
  /** A button, by its action_id. */
  action(actionId: string, listener: ButtonListener): void;
  /** A form submission, by its view's callback_id. */
  view(callbackId: string, listener: ViewListener): void;
  /** Events API events go straight to Bolt (the bot listens to one). */
  event: App['event'];
}

export function routeListeners(app: App, log: Logger): Listeners {
  const commands = new Map<string, CommandListener>();
  const actions = new Map<string, ButtonListener>();
  const views = new Map<string, ViewListener>();

  function add<L>(routes: Map<string, L>, kind: string, id: string, listener: L): void {
    if (routes.has(id)) throw new Error(`two listeners for the ${kind} ${id}`);
    routes.set(id, listener);
  }

  // Something the bot never registered (a link button, a command name from an old manifest) is
  // acknowledged, so Slack shows no error, and otherwise ignored.
  app.command(/.*/, async (args) => {
    const listener = commands.get(args.command.command);
    if (listener) return listener(args);
    log.warn({ command: args.command.command }, 'slash command with no listener acknowledged and ignored');
    await args.ack();
  });
  app.action<BlockButtonAction>(/.*/, async (args) => {
    const listener = actions.get(args.action.action_id);
    if (listener) return listener(args);
    log.debug({ actionId: args.action.action_id }, 'click with no listener acknowledged and ignored');
    await args.ack();
  });
  app.view(/.*/, async (args) => {
    const listener = views.get(args.view.callback_id);
    if (listener) return listener(args);
    log.warn({ callbackId: args.view.callback_id }, 'form submission with no listener acknowledged and ignored');
    await args.ack();
  });

  return {
    command: (name, listener) => add(commands, 'command', name, listener),
    action: (actionId, listener) => add(actions, 'action', actionId, listener),
    view: (callbackId, listener) => add(views, 'view', callbackId, listener),
    event: app.event.bind(app) as App['event'],
  };
}
