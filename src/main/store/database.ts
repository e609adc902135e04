/**
 * Opens the run database: WAL, foreign keys, migrations to the current version. A database
 * written by a newer app version is refused before anything is changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import { MIGRATIONS, type Migration } from './migrations';

export const DATABASE_FILE = 'finetune.db';

export interface OpenDatabaseOptions {
  /** Path of better_sqlite3.node built for this runtime (Electron ships its own). */
  nativeBinding?: string;
  /** For tests: the migration list to apply (default: all). */
  migrations?: readonly Migration[];
  readonly?: boolean;
}

export function databasePath(dataDir: string): string {
  return path.join(dataDir, DATABASE_FILE);
}

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database.Database {
  const migrations = options.migrations ?? MIGRATIONS;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const dbOptions: Database.Options = {};
  if (options.nativeBinding) dbOptions.nativeBinding = options.nativeBinding;
  if (options.readonly) dbOptions.readonly = true;
  let db: Database.Database;
  try {
    db = new Database(file, dbOptions);
  } catch (err) {
    throw new AppError('io', `Cannot open the run database ${file}: ${(err as Error).message}. Check that the folder is writable.`);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new AppError(
        'unsupported',
        `The run database ${file} was written by a newer version of Finetune Studio (schema ${version}; this version knows up to ${migrations.length}). ` +
          'Update the app, or point FINETUNE_HOME at another folder. Nothing was changed.',
      );
    }
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies every migration above the database's user_version, each in its own transaction. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  let version = db.pragma('user_version', { simple: true }) as number;
  while (version < migrations.length) {
    const next = version + 1;
    const migration = migrations[version]!;
    db.transaction(() => {
      migration(db);
      db.pragma(`user_version = ${next}`);
    }).immediate();
    version = next;
  }
  return version;
}
