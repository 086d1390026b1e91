// The two Slack app manifests: the same app (commands, scopes, events) over HTTP and over Socket Mode.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { parse } from 'yaml';

function manifest(name: string): unknown {
  return parse(readFileSync(fileURLToPath(new URL(`../${name}`, import.meta.url)), 'utf8'));
}

/** The manifest without what only HTTP mode has: request URLs and the socket_mode_enabled flag. */
function withoutTransport(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTransport);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'url' && key !== 'request_url' && key !== 'socket_mode_enabled').map(([key, inner]) => [key, withoutTransport(inner)]));
}

it('manifest.socket-mode.yml is manifest.yml in Socket Mode, with no URL to replace', () => {
  const http = manifest('manifest.yml');
  const socket = manifest('manifest.socket-mode.yml');

  expect(socket).toMatchObject({ settings: { socket_mode_enabled: true } });
  expect(http).toMatchObject({ settings: { socket_mode_enabled: false } });
  expect(JSON.stringify(socket)).not.toContain('example.com');
  expect(withoutTransport(socket)).toEqual(withoutTransport(http));
});
