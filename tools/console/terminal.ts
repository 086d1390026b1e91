// The console's terminal: reads lines (a queue, so nothing typed is lost), writes, colours, masks typed
// passwords, and prints what happens in the background above the prompt without eating what is typed.
import { createInterface } from 'node:readline';
import { MASK } from '../../src/dialects/render.js';

export interface Terminal {
  /** Line editing and colours (a person at a terminal); otherwise what was read is echoed, for transcripts. */
  readonly interactive: boolean;
  write(text?: string): void;
  paint(code: string, text: string): string;
  /** Shows the prompt and resolves with the next line; undefined at the end of the input. */
  read(prompt: string, secret?: boolean): Promise<string | undefined>;
  /** While read() waits: prints with `print` above the prompt, then shows the prompt again. */
  aside(print: () => Promise<void>): Promise<void>;
  close(): void;
}

export function createTerminal(io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }): Terminal {
  const isTty = (stream: unknown) => typeof stream === 'object' && stream !== null && 'isTTY' in stream && stream.isTTY === true;
  const colour = isTty(io.output);
  // Line editing only when a person types into a terminal; otherwise the console echoes what it read, so a
  // transcript (a test, a pipe) shows each command next to its output.
  const interactive = isTty(io.input) && colour;
  const rl = createInterface({ input: io.input, ...(interactive ? { output: io.output } : {}), terminal: interactive });

  const queued: string[] = [];
  let ended = false;
  let waiting: ((line: string | undefined) => void) | undefined;
  let prompt = '';
  rl.on('line', (line) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(line);
    } else queued.push(line);
  });
  rl.on('close', () => {
    ended = true;
    waiting?.(undefined);
    waiting = undefined;
  });
  // Ctrl-C quits like Ctrl-D, so the bot stops and the temp files go.
  rl.on('SIGINT', () => rl.close());

  function write(text = ''): void {
    io.output.write(`${text}\n`);
  }

  function showPrompt(): void {
    if (interactive) {
      rl.setPrompt(prompt);
      rl.prompt(true);
    } else io.output.write(prompt);
  }

  function nextLine(): Promise<string | undefined> {
    const line = queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      waiting = resolve;
    });
  }

  return {
    interactive,
    write,
    paint: (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text),
    async read(text, secret = false) {
      prompt = text;
      showPrompt();
      const line = await nextLine();
      prompt = '';
      if (line === undefined) {
        if (!interactive) write();
        return undefined;
      }
      const masked = secret && line !== '' && line.trim().toLowerCase() !== 'cancel';
      if (!interactive) write(masked ? MASK : line);
      // A typed password is visible while typing (as in a Slack form); once entered, the line is masked.
      else if (masked) io.output.write(`\x1b[1A\x1b[2K${text}${MASK}\n`);
      return line;
    },
    async aside(print) {
      // A terminal: the prompt and whatever is half typed make way, and come back below. A pipe: a new line.
      io.output.write(interactive ? '\r\x1b[2K' : '\n');
      await print();
      if (prompt !== '') showPrompt();
    },
    close: () => rl.close(),
  };
}
