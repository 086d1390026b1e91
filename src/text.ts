// Text people typed, made safe to show in Slack's mrkdwn: <!channel> cannot ping, a link cannot be disguised.

/** Escapes what Slack's mrkdwn would interpret in text a user typed. */
export function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
