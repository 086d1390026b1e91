// Targets and dialects shared by the dialect tests.
import type { Dialect, DialectName, Target } from '../../src/dialects/dialect.js';
import { oracle } from '../../src/dialects/oracle.js';
import { azureSql, sqlServer } from '../../src/dialects/sqlserver.js';

export const targets: Record<DialectName, Target> = {
  sqlserver: { schema: 'dbo', database: 'outsystems', rules: { maxBytes: 128, upperCaseUsernames: false } },
  azuresql: { schema: 'dbo', database: 'outsystems', rules: { maxBytes: 128, upperCaseUsernames: false } },
  oracle: { schema: 'OSADMIN', rules: { maxBytes: 128, upperCaseUsernames: true } },
};

export const dialects: Record<DialectName, Dialect> = { sqlserver: sqlServer, azuresql: azureSql, oracle };

/** A username valid in the dialect: upper case on Oracle. */
export function userFor(name: DialectName): string {
  return name === 'oracle' ? 'DBX_MARIA_K3X9' : 'dbx_maria_k3x9';
}
