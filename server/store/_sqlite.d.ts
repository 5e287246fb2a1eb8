// Types of the part of `node:sqlite` the store uses (the project's @types/node is v20,
// which predates the module; Deno implements it).

declare module "node:sqlite" {
  /** A value SQLite can bind or return. */
  export type SQLValue = null | number | bigint | string | Uint8Array;

  /** Outcome of a statement that changes rows. */
  export interface StatementResultingChanges {
    changes: number | bigint;
    lastInsertRowid: number | bigint;
  }

  /** A prepared statement. */
  export class StatementSync {
    run(...params: SQLValue[]): StatementResultingChanges;
    get(...params: SQLValue[]): Record<string, SQLValue> | undefined;
    all(...params: SQLValue[]): Record<string, SQLValue>[];
  }

  /** A synchronous SQLite connection. */
  export class DatabaseSync {
    constructor(path: string);
    readonly isOpen: boolean;
    readonly isTransaction: boolean;
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
    close(): void;
  }
}
