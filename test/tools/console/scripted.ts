// A console session scripted through streams, as a person would type it; what it printed, line after line.
import { PassThrough } from 'node:stream';
import { startConsoleSession, type ConsoleIo, type ConsoleSession } from '../../../tools/console/session.js';

export interface Scripted {
  session: ConsoleSession;
  /** Everything printed so far. */
  text(): string;
  /** Types a line and resolves with what was printed up to the next prompt. */
  send(line: string): Promise<string>;
  /** Ends the input (Ctrl-D) and waits for the session to stop. */
  end(): Promise<void>;
}

export async function until(condition: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function startScripted(options: Omit<ConsoleIo, 'input' | 'output'> = {}): Promise<Scripted> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    printed += chunk;
  });
  const session = await startConsoleSession({ ...options, input, output });
  // Every prompt, the command one and those of a form, ends in "> ".
  const prompting = () => printed.endsWith('> ');
  await until(prompting, () => `the first prompt; printed:\n${printed}`);
  return {
    session,
    text: () => printed,
    async send(line) {
      const mark = printed.length;
      input.write(`${line}\n`);
      await until(() => printed.length > mark && prompting(), () => `a prompt after "${line}"; printed:\n${printed.slice(mark)}`);
      return printed.slice(mark);
    },
    async end() {
      input.end();
      await session.done;
    },
  };
}

/** The number the console gave the button labelled `label` in `text`. */
export function buttonNumber(text: string, label: string): number {
  const match = new RegExp(`\\[(\\d+)\\] ${label}`).exec(text);
  if (!match) throw new Error(`no button "${label}" in:\n${text}`);
  return Number(match[1]);
}

/** The password in a credentials message as the console prints it. */
export function passwordIn(text: string): string {
  const match = /\*Password\*\n\s+`([^`]+)`/.exec(text);
  if (!match) throw new Error(`no password in:\n${text}`);
  return match[1]!;
}

