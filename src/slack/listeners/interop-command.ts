// /interop is in the app manifest so workspaces install it once; until its grants ship, it says so plainly.
import type { App } from '@slack/bolt';
import { textMessage } from '../blocks.js';

export function registerInteropCommand(app: App): void {
  app.command('/interop', async ({ ack }) => {
    await ack(textMessage('`/interop` (data interoperability grants) is not available in this version of the bot yet. `/dbuser help` lists what is.'));
  });
}
