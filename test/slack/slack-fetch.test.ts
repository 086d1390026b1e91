// The fetch given to Bolt and the WebClient: replies to a response_url go over node:http on kept-alive
// connections and answer what Bolt's respond() reads; everything else goes to the fetch it wraps.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRespond } from '@slack/bolt/dist/context/create-respond.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { slackFetch } from '../../src/slack/slack-fetch.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A local server that records each request and answers with `answer` (or never, when it returns undefined). */
async function listen(answer: (req: Received, res: ServerResponse) => boolean | void = (_req, res) => void res.end('ok')): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, socket: req.socket };
      received.push(entry);
      answer(entry, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const WEB_API = 'http://127.0.0.1:1/api/';
const reply = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('slackFetch', () => {
  it('posts a reply to a response_url itself, and answers with status, text and headers', async () => {
    const { url, received } = await listen((_req, res) => void res.writeHead(200, 'OK', { 'Content-Type': 'text/html' }).end('ok'));
    const inner = vi.fn<typeof fetch>();
    const fetch = slackFetch(inner, { webApiUrl: WEB_API, timeoutMs: 5_000 });

    const response = await fetch(`${url}/commands/T0/123/abc`, reply({ text: 'hello', response_type: 'ephemeral' }));

    expect(inner).not.toHaveBeenCalled();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/commands/T0/123/abc', body: '{"text":"hello","response_type":"ephemeral"}' });
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['content-length']).toBe(String(Buffer.byteLength(received[0]!.body)));
    expect(response.ok).toBe(true);
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('OK');
    expect(response.headers.get('Content-Type')).toBe('text/html');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(await response.clone().text()).toBe('ok');
  });

  it('sends non-ASCII text whole: the length is counted in bytes', async () => {
    const { url, received } = await listen();
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 5_000 });

    await fetch(`${url}/r`, reply({ text: 'Olá — ✅ ação' }));

    expect(JSON.parse(received[0]!.body)).toEqual({ text: 'Olá — ✅ ação' });
  });

  it('reuses one connection for replies in turn', async () => {
    const { url, received } = await listen();
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 5_000 });

    for (let i = 0; i < 3; i++) await fetch(`${url}/r/${i}`, reply({ text: String(i) }));

    expect(received.map((r) => r.url)).toEqual(['/r/0', '/r/1', '/r/2']);
    expect(new Set(received.map((r) => r.socket)).size).toBe(1);
  });

  it('gives JSON answers back as JSON', async () => {
    const { url } = await listen((_req, res) => void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 5_000 });

    const response = await fetch(`${url}/r`, reply({ text: 'x' }));

    expect(await response.json()).toEqual({ ok: true });
  });

  it('leaves Web API calls, uploads and anything not shaped like a reply to the wrapped fetch', async () => {
    const { url, received } = await listen();
    const answer = new Response('{"ok":true}');
    const inner = vi.fn<typeof fetch>().mockResolvedValue(answer);
    const fetch = slackFetch(inner, { webApiUrl: `${url}/api/`, timeoutMs: 5_000 });

    const calls: [string, RequestInit][] = [
      [`${url}/api/chat.postMessage`, reply({ channel: 'C1', text: 'x' })],
      [`${url}/upload/F1`, { method: 'POST', body: Buffer.from('a,b\n') }],
      [`${url}/r`, { method: 'GET' }],
      [`${url}/r`, { ...reply({ text: 'x' }), headers: new Headers({ 'Content-Type': 'application/json' }) }],
      [`${url}/r`, { ...reply({ text: 'x' }), signal: new AbortController().signal }],
    ];
    for (const [target, init] of calls) expect(await fetch(target, init)).toBe(answer);

    expect(inner.mock.calls).toEqual(calls);
    expect(received).toHaveLength(0);
  });

  it("makes Bolt's respond() throw when Slack refuses the reply (an expired response_url)", async () => {
    const { url } = await listen((_req, res) => void res.writeHead(404, 'Not Found').end('expired_url'));
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 5_000 });
    const respond = createRespond(fetch, `${url}/r`);

    await expect(respond({ text: 'late' })).rejects.toThrow('Failed to respond to the response_url: 404 Not Found');
  });

  it('gives up on a response_url that does not answer, without naming the URL', async () => {
    const { url, received } = await listen(() => true);
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 100 });

    const outcome = await fetch(`${url}/commands/T0/secret-token`, reply({ text: 'x' })).catch((err: unknown) => err as Error);

    expect(received).toHaveLength(1);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe('response_url did not answer within 100 ms');
  });

  it('rejects when nothing listens at the response_url', async () => {
    const fetch = slackFetch(vi.fn<typeof fetch>(), { webApiUrl: WEB_API, timeoutMs: 5_000 });

    await expect(fetch('http://127.0.0.1:1/r', reply({ text: 'x' }))).rejects.toThrow(/ECONNREFUSED/);
  });
});
