// Entry point of `npm run console`: a console session on this terminal; exits when it ends.
import { isAppError } from '../../src/errors.js';
import { startConsoleSession } from './session.js';

async function main(): Promise<void> {
  try {
    // DBACCESS_CONFIG loads another environments file; the file's password references read this process's variables.
    const session = await startConsoleSession({ input: process.stdin, output: process.stdout, configPath: process.env.DBACCESS_CONFIG, env: process.env });
    await session.done;
  } catch (err) {
    // A configuration error is a sentence for a person; anything else keeps its stack.
    console.error(isAppError(err) ? err.message : err);
    process.exitCode = 1;
  }
  // Idle keep-alive sockets and stdin would hold the process open for a while: leave once the output is written.
  process.stdout.write('', () => process.exit());
}

await main();
