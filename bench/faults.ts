// The faults of the guarantee phases: ten environments, one whose database never answers, the others taking a fixed time per statement; executors counted at the seam.
import type { LoadedEnvironment } from '../src/config.js';
import { dryRunExecutor, type Executor } from '../src/dialects/executor.js';
import { ALL_MISSING_WRITE_LABEL } from '../src/dialects/permissions.js';
import type { Row, Statement } from '../src/dialects/statement.js';
import type { BenchEnvironment } from './lib.js';

const DIALECTS = ['sqlserver', 'azuresql', 'oracle'] as const;

/** `count` environments f0, f1…, their dialects in turn; f0 is the one whose database hangs when asked to. */
export function faultEnvironments(count: number): BenchEnvironment[] {
  return Array.from({ length: count }, (_, i) => ({ name: `f${i}`, dialect: DIALECTS[i % DIALECTS.length]! }));
}
export const HUNG_ENVIRONMENT = 'f0';

export interface SimulatedDatabases {
  /** For startBot's executorFor. */
  executorFor: (env: LoadedEnvironment) => Executor;
  /** Statements run per environment so far (the executor seam: one call is one round trip). */
  calls: Map<string, number>;
}

/**
 * Dry-run databases that take `statementMs` per statement; those named in `hung` never answer. `tables`
 * OSUSR_ tables lack write grants for every new user (the per-table grants of a read & write user).
 */
export function simulatedDatabases(options: { statementMs: number; hung?: readonly string[]; tables?: number }): SimulatedDatabases {
  const calls = new Map<string, number>();
  const tables = options.tables ?? 0;
  const names = Array.from({ length: tables }, (_, i) => ({ table_name: `OSUSR_BEN_TABLE${i}` }));
  const answer = (statement: Statement): Row[] => {
    // A new user's write grants in one batch answer with the tables granted.
    if (statement.label === ALL_MISSING_WRITE_LABEL) return names;
    if (statement.kind !== 'query') return [];
    if (statement.label.startsWith('list OSUSR_ tables lacking')) return names;
    if (statement.label.startsWith('count the OSUSR_ tables')) return [{ total: tables }];
    return [];
  };
  return {
    calls,
    executorFor: (env) =>
      dryRunExecutor(async (statement) => {
        calls.set(env.name, (calls.get(env.name) ?? 0) + 1);
        if (options.hung?.includes(env.name)) return new Promise<Row[]>(() => {});
        await new Promise((resolve) => setTimeout(resolve, options.statementMs));
        return answer(statement);
      }),
  };
}
