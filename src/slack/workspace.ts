// One workspace: the bot token's. Every request is checked against it before any listener runs, at
// once and without a Web API call; until the workspace is known, nothing is acted on (fail closed).
import type { AnyMiddlewareArgs, Middleware, types } from '@slack/bolt';
import type { Logger } from '../log.js';
import type { SlackStatus } from './slack-status.js';

/** What a person reads while the bot has not yet learned (or cannot confirm) its workspace. */
export const UNVERIFIED_TEXT = ':hourglass_flowing_sand: The bot cannot verify this workspace yet (Slack is not answering it); try again in a minute.';

/** The team a request names: commands and events carry team_id; clicks and forms team.id (null org-wide) and user.team_id. */
export function teamOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const teamField = body['team'];
  const user = body['user'];
  const team = body['team_id'] ?? (isRecord(teamField) ? teamField['id'] : undefined) ?? (isRecord(user) ? user['team_id'] : undefined);
  return typeof team === 'string' && team !== '' ? team : undefined;
}

/**
 * A request from another workspace (an org-wide install, a misrouted proxy) is acknowledged and
 * dropped. A request that arrives before the workspace is known is acknowledged with a short
 * sentence and dropped: a slash command gets it in the acknowledgement, a form gets it pushed on top
 * (closing it brings the form back with what was typed), a click through its response_url.
 */
export function workspaceGuard(status: Pick<SlackStatus, 'teamId' | 'recheck'>, log: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const expected = status.teamId();
    const team = teamOf(args.body);
    if (expected !== undefined && team === expected) {
      await args.next();
      return;
    }
    if (expected !== undefined) log.warn({ team, expected }, 'request from another workspace dropped');
    else {
      log.warn({ team }, 'request refused: the workspace is not verified yet');
      // In the background: the person trying again in a minute should find Slack checked since.
      status.recheck();
    }
    // Events are acknowledged by Bolt itself, and a foreign workspace is told nothing.
    if ('command' in args) {
      await args.ack(expected === undefined ? { response_type: 'ephemeral', text: UNVERIFIED_TEXT } : undefined);
      return;
    }
    if ('view' in args && args.body.type === 'view_submission') {
      await args.ack(expected === undefined ? { response_action: 'push', view: unverifiedModal() } : undefined);
      return;
    }
    if ('ack' in args && args.ack) await args.ack();
    if (expected === undefined && 'respond' in args && args.respond && 'response_url' in args.body) {
      await args.respond({ response_type: 'ephemeral', replace_original: false, text: UNVERIFIED_TEXT }).catch((err: unknown) => log.warn({ err }, 'could not tell a click that the workspace is not verified'));
    }
  };
}

function unverifiedModal(): types.ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Try again in a minute' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: UNVERIFIED_TEXT } }],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
