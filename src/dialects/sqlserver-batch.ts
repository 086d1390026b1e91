// The T-SQL batch behind grantAllMissingWrite (sqlserver.ts): a new user's write grants in one round trip.
// Fixed text only: every name is a variable the server quotes (the parameters, and the cursor's @table).

/** The `OSUSR_` tables of @schema lacking any of INSERT, UPDATE, DELETE for @username, as `table_name`; no ORDER BY. */
export const MISSING_WRITE_GRANTS = [
  'SELECT t.name AS table_name',
  'FROM sys.tables AS t',
  'JOIN sys.schemas AS s ON s.schema_id = t.schema_id',
  "WHERE s.name = @schema AND t.name LIKE @pattern ESCAPE N'\\'",
  '  AND (SELECT COUNT(DISTINCT p.permission_name) FROM sys.database_permissions AS p',
  "       WHERE p.class = 1 AND p.major_id = t.object_id AND p.minor_id = 0 AND p.state IN ('G', 'W')",
  '         AND p.grantee_principal_id = DATABASE_PRINCIPAL_ID(@username)',
  "         AND p.permission_name IN (N'INSERT', N'UPDATE', N'DELETE')) < 3",
];

/**
 * Keeps MISSING_WRITE_GRANTS's tables in a table variable (so the grants cannot change what the cursor
 * reads), runs `grant` (an nvarchar expression of @schema, @table, @username) for each with
 * sp_executesql, then selects the names. A failure ends the batch: THROW, or the GRANT's own error.
 */
export function allMissingWriteBatch(grant: string): string {
  return [
    'DECLARE @missing TABLE (table_name sysname NOT NULL PRIMARY KEY);',
    'INSERT INTO @missing (table_name)',
    ...MISSING_WRITE_GRANTS.slice(0, -1),
    `${MISSING_WRITE_GRANTS.at(-1)};`,
    'DECLARE @table sysname, @sql nvarchar(max);',
    'DECLARE missing_tables CURSOR LOCAL FAST_FORWARD FOR SELECT table_name FROM @missing ORDER BY table_name;',
    'OPEN missing_tables;',
    'FETCH NEXT FROM missing_tables INTO @table;',
    'WHILE @@FETCH_STATUS = 0',
    'BEGIN',
    `  SET @sql = ${grant};`,
    "  IF @sql IS NULL THROW 50000, N'A name is longer than 128 characters; the write grants stopped there.', 1;",
    '  EXEC sys.sp_executesql @sql;',
    '  FETCH NEXT FROM missing_tables INTO @table;',
    'END;',
    'CLOSE missing_tables;',
    'DEALLOCATE missing_tables;',
    'SELECT table_name FROM @missing ORDER BY table_name;',
  ].join('\n');
}
