import type Database from 'better-sqlite3';

/** Enough for every statement the read model's projections and queries build, with room for their variants. */
const MAX_STATEMENTS_PER_DATABASE = 1000;

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * `db.prepare(sql)`, compiled once per connection. Compiling costs more than running most of these statements, and
 * a projection or a list query runs the same few hundred texts again and again.
 */
export function prepared<BindParameters extends unknown[] | object = unknown[], Result = unknown>(
  db: Database.Database,
  sql: string,
): Database.Statement<BindParameters, Result> {
  let cache = caches.get(db);
  if (cache === undefined) {
    cache = new Map();
    caches.set(db, cache);
  }
  let statement = cache.get(sql);
  if (statement === undefined) {
    // Texts built from filters come in a bounded number of shapes; the bound only guards against a caller that
    // inlines values into its SQL.
    if (cache.size >= MAX_STATEMENTS_PER_DATABASE) cache.clear();
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement as Database.Statement<BindParameters, Result>;
}

const ROWS_PER_STATEMENT = 64;

/**
 * `INSERT OR IGNORE INTO table VALUES (...)` for many rows, several rows per statement: a replay writes a timeline
 * row per event, and one statement per row costs several times more.
 */
export function insertRowsOrIgnore(db: Database.Database, table: string, rows: readonly (readonly unknown[])[]): void {
  if (rows.length === 0) return;
  const width = rows[0]!.length;
  const tuple = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  const statementFor = (count: number) =>
    prepared(db, `INSERT OR IGNORE INTO ${table} VALUES ${Array.from({ length: count }, () => tuple).join(', ')}`);
  let i = 0;
  for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
    statementFor(ROWS_PER_STATEMENT).run(rows.slice(i, i + ROWS_PER_STATEMENT).flat());
  }
  const single = statementFor(1);
  for (; i < rows.length; i++) single.run(rows[i]);
}
