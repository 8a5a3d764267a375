/**
 * Bulk rows into PostgreSQL by `COPY … FROM STDIN (FORMAT binary)` on `pg`
 * alone (no pg-copy-streams): a `pg.Query` whose copy-in handler sends the
 * rows encoded in PostgreSQL's binary COPY format, so the server neither
 * parses SQL nor text per row. pg's Query does the rest of the protocol
 * (CommandComplete `COPY n`, errors, ReadyForQuery).
 *
 * Binary COPY needs each column's exact type: `columnTypesSql` reads them
 * from pg_attribute (the driver caches them per table). Supported: int2,
 * int4, int8, bool, text/varchar, bytea, float8, json(b) — the types the
 * portable schema maps to and a few more. This file and the query builder
 * are where the PostgreSQL driver's bulk SQL text comes from.
 */
import { Buffer } from 'node:buffer';
import pg from 'pg';
import type { SqlValue } from './sql/conditions.js';
import { postgres } from './sql/dialect.js';
import type { Sql } from './sql/query-builder.js';

/** pg_type OIDs the encoder knows. */
const OID = { bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, json: 114, float8: 701, varchar: 1043, jsonb: 3802 } as const;
const KNOWN = new Set<number>(Object.values(OID));

/** Column name → type OID of one table (from columnTypesSql). */
export type ColumnTypes = ReadonlyMap<string, number>;

/** The statement that lists a table's column types: rows of { name, oid }. */
export function columnTypesSql(table: string): Sql {
  return {
    text: 'SELECT attname AS name, atttypid::int4 AS oid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped',
    params: [postgres.quote(table)],
  };
}

export function copyFromSql(table: string, columns: readonly string[]): string {
  return `COPY ${postgres.quote(table)} (${columns.map((c) => postgres.quote(c)).join(', ')}) FROM STDIN (FORMAT binary)`;
}

/** Type OIDs of `columns`, in order; throws TypeError for a missing column or a type the encoder lacks. */
export function columnOids(table: string, types: ColumnTypes, columns: readonly string[]): number[] {
  return columns.map((c) => {
    const oid = types.get(c);
    if (oid === undefined) throw new TypeError(`table ${table} has no column ${c}`);
    if (!KNOWN.has(oid)) throw new TypeError(`column ${table}.${c} has type oid ${oid}, which binary COPY here does not encode`);
    return oid;
  });
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const CHUNK_BYTES = 256 * 1024;

/** An append-only byte writer; its output goes out as CopyData chunks of up to ~512 KiB. */
class CopyWriter {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES * 2);
  private at = 0;
  readonly chunks: Buffer[] = [];

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.cut();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES * 2, n));
  }

  /** Moves what was written into `chunks` (the buffer is not reused after). */
  cut(): void {
    if (this.at === 0) return;
    this.chunks.push(this.buf.subarray(0, this.at));
    this.buf = this.buf.subarray(this.at);
    this.at = 0;
  }

  int16(v: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  int32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  bytes(b: Uint8Array): void {
    this.room(4 + b.length);
    this.at = this.buf.writeInt32BE(b.length, this.at);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  string(s: string, prefix?: number): void {
    const n = Buffer.byteLength(s, 'utf8') + (prefix === undefined ? 0 : 1);
    this.room(4 + n);
    this.at = this.buf.writeInt32BE(n, this.at);
    if (prefix !== undefined) this.buf[this.at++] = prefix;
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  int8Field(v: number | bigint): void {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    if (typeof v === 'bigint') {
      this.at = this.buf.writeBigInt64BE(v, this.at);
    } else if (Number.isSafeInteger(v)) {
      // Two 32-bit halves: no BigInt per value.
      const hi = Math.floor(v / 4294967296);
      this.at = this.buf.writeInt32BE(hi, this.at);
      this.at = this.buf.writeUInt32BE(v - hi * 4294967296, this.at);
    } else {
      this.at = this.buf.writeBigInt64BE(BigInt(v), this.at);
    }
  }
  int4Field(v: number): void {
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  int2Field(v: number): void {
    this.room(6);
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(v, this.at);
  }
  boolField(v: boolean): void {
    this.room(5);
    this.at = this.buf.writeInt32BE(1, this.at);
    this.buf[this.at++] = v ? 1 : 0;
  }
  float8Field(v: number): void {
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(v, this.at);
  }
}

function integer(v: SqlValue, column: string): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new TypeError(`column ${column}: ${typeof v} ${String(v)} is not an integer`);
}

function field(w: CopyWriter, oid: number, v: SqlValue, column: string): void {
  if (v === null || v === undefined) return w.int32(-1);
  switch (oid) {
    case OID.int8:
      return w.int8Field(typeof v === 'number' && Number.isSafeInteger(v) ? v : integer(v, column));
    case OID.int4:
      return w.int4Field(Number(integer(v, column)));
    case OID.int2:
      return w.int2Field(Number(integer(v, column)));
    case OID.bool:
      return w.boolField(v === true || v === 1 || v === 1n);
    case OID.float8:
      return w.float8Field(Number(v));
    case OID.bytea:
      if (!(v instanceof Uint8Array)) throw new TypeError(`column ${column}: bytea needs bytes, got ${typeof v}`);
      return w.bytes(v);
    case OID.jsonb:
      return w.string(v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v), 1);
    default: // text, varchar, json: UTF-8 text
      return w.string(v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v));
  }
}

/** The rows in binary COPY format (header, tuples, trailer), as chunks. Throws TypeError/RangeError for a value its column cannot take. */
export function encodeCopyRows(oids: readonly number[], columns: readonly string[], rows: readonly (readonly SqlValue[])[]): Buffer[] {
  // Header: signature, then int32 flags and int32 header-extension length, both 0.
  const header = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(header, 0);
  const body = new CopyWriter();
  for (const r of rows) {
    if (r.length !== oids.length) throw new TypeError(`batch row has ${r.length} values for ${oids.length} columns`);
    body.int16(oids.length);
    for (let i = 0; i < oids.length; i++) field(body, oids[i], r[i], columns[i]);
  }
  body.int16(-1);
  body.cut();
  return [header, ...body.chunks];
}

/** Sends the encoded rows when the server asks for them (CopyInResponse); resolves with the rows copied. */
export function copyIn(client: pg.Client, text: string, chunks: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = new pg.Query({ text }, (err: Error | undefined, res: { rowCount?: number | null }) => {
      if (err) reject(err);
      else resolve(res?.rowCount ?? 0);
    });
    (q as unknown as { handleCopyInResponse(c: CopyConnection): void }).handleCopyInResponse = (connection) => {
      for (const c of chunks) connection.sendCopyFromChunk(c);
      connection.endCopyFrom();
    };
    void client.query(q);
  });
}

interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}
