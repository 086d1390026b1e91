// `npm run console` as someone runs it from the repository root: a piped script, then quit; exit code 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

function runConsole(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'console'], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(script);
  });
}

describe('npm run console', () => {
  it('requests as Maria, approves as Ana, shows the password to Maria, and exits 0 on quit', { timeout: 60_000 }, async () => {
    // The approval message is the first with buttons, so Approve is [1].
    const { code, stdout, stderr } = await runConsole(['/dbuser request dev --reason test', 'as ana', 'click 1', 'quit', ''].join('\n'));

    // The console keeps its log after quitting, for a person to read; a test has no use for it.
    const logPath = /The bot's log: (\S+)/.exec(stdout)?.[1];
    if (logPath?.includes('dbaccess-console-')) rmSync(dirname(logPath), { recursive: true, force: true });

    expect(code, stderr).toBe(0);
    expect(stdout).toContain('[#C0APPROVALS] # Temporary database user request');
    expect(stdout).toContain('[1] Approve  [2] Deny');
    expect(stdout).toContain('(Ana Approver clicked Approve)');
    expect(stdout).toMatch(/\[only Maria Silva sees\] \*Your temporary database user in dev is ready\*/);
    expect(stdout).toMatch(/\*Password\*\n\s+`[^`]{12,}`/);
    expect(stdout).toContain('Bye.');
  });

  it('loads the file DBACCESS_CONFIG names', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-npm-console-'));
    const file = join(dir, 'other.yml');
    writeFileSync(file, readFileSync(join(repoRoot, 'config', 'console.yml'), 'utf8').replace('name: legacy', 'name: archive'));
    try {
      const { code, stdout, stderr } = await runConsole('quit\n', { DBACCESS_CONFIG: file });
      const logPath = /The bot's log: (\S+)/.exec(stdout)?.[1];
      if (logPath?.includes('dbaccess-console-')) rmSync(dirname(logPath), { recursive: true, force: true });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('archive (sqlserver)');
      expect(stdout).not.toContain('legacy (sqlserver)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
