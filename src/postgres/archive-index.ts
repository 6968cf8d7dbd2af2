/**
 * One pass over a custom-format archive that pg_dump streamed to a pipe, possibly while it is
 * still being written (followArchive): writes the data offsets into its TOC, and counts the rows
 * of each table's data.
 *
 * Offsets. pg_dump can only record where each table's data starts when it writes to a file it can
 * seek back in; streamed through compression, every TOC entry says "offset not set". A parallel
 * pg_restore then makes each worker read the archive from the start up to the block it wants,
 * chunk by chunk (one chunk per row), which costs it a quarter of its time on a 1 GB database
 * (docs/benchmarks.md). After the archive is read back into its temp file, this walks the data
 * blocks once, in large reads, and writes each entry's offset into the TOC in place: the TOC
 * keeps its size (a flag byte and 8 offset bytes per entry), exactly as pg_dump rewrites it when
 * it can seek. The walk can follow the file as it is decompressed, so it costs no second read; the
 * offsets are written only by apply(), once the archive's sha256 has been checked.
 *
 * Rows. Uncompressed (-Z0, what db-backup runs), pg_dump writes each row libpq hands it
 * (PQgetCopyData: always one row at a time) as one chunk of the table's COPY data block, then its
 * end-of-data marker, so the chunks of a TABLE DATA entry with a COPY statement, less the marker,
 * are its rows. pg_restore loads each such block with one COPY, whole or not at all: a restore
 * that succeeded holds exactly these rows, with no scan of the restored tables. Entries without a
 * COPY statement (--inserts) and archives compressed inside get no count.
 *
 * Layout (pg_backup_archiver.c WriteHead/WriteToc, pg_backup_custom.c), archive versions 1.12 to
 * 1.15 (pg_dump 9.5 to 16); any other version, or anything that does not parse, is left as it
 * is (pg_restore reads it the slow way, exactly as before, and the rows are counted in the
 * database). pg_restore itself checks the block id it finds at each offset, so a wrong offset
 * could never restore the wrong data.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const BLK_DATA = 1;
const BLK_BLOBS = 3;
const POS_NOT_SET = 1;
const POS_SET = 2;
/** Bytes of a data offset in the TOC (the only size we patch). */
const OFFSET_SIZE = 8;
const READ_SIZE = 8 << 20;

export type OffsetsResult = { patched: number } | { skipped: string };

export interface ArchiveIndex {
  offsets: OffsetsResult;
  /** `schema.table` → rows of its COPY data; absent when the archive cannot be read that way. */
  rows?: Map<string, number>;
}

class Malformed extends Error {}
/** The file ends where more is still being written: try again from the last checkpoint. */
class NeedMore extends Error {}

/** Sequential reader over a file with an 8 MiB window. */
class Reader {
  private buf = Buffer.allocUnsafe(READ_SIZE);
  private start = 0;
  private length = 0;
  pos = 0;
  intSize = 4;
  /** While the writer may still append, a short read means "later", not "truncated". */
  growing = false;

  constructor(private readonly fd: number) {}

  /** True when `n` more bytes are available at `pos` (refilling the window there if needed). */
  private has(n: number): boolean {
    if (this.pos >= this.start && this.pos + n <= this.start + this.length) return true;
    this.start = this.pos;
    this.length = readSync(this.fd, this.buf, 0, READ_SIZE, this.pos);
    if (n <= this.length) return true;
    if (this.growing) throw new NeedMore();
    return false;
  }
  atEnd(): boolean {
    return !this.has(1);
  }
  byte(): number {
    if (!this.has(1)) throw new Malformed('unexpected end of archive');
    return this.buf[this.pos++ - this.start]!;
  }
  int(): number {
    const size = 1 + this.intSize;
    if (!this.has(size)) throw new Malformed('unexpected end of archive');
    const at = this.pos - this.start;
    let value = 0;
    for (let b = this.intSize; b >= 1; b--) value = value * 256 + this.buf[at + b]!;
    this.pos += size;
    return this.buf[at] ? -value : value;
  }
  bytes(n: number): Buffer {
    if (n > READ_SIZE) throw new Malformed('a TOC string is too long');
    if (!this.has(n)) throw new Malformed('unexpected end of archive');
    const out = this.buf.subarray(this.pos - this.start, this.pos - this.start + n);
    this.pos += n;
    return out;
  }
  /** A string, or null for a NULL one (length -1). */
  str(): string | null {
    const n = this.int();
    return n < 0 ? null : this.bytes(n).toString('utf8');
  }
  skip(n: number): void {
    this.pos += n;
  }
}

interface Entry {
  /** Where the entry's flag byte is in the file. */
  flagAt: number;
  flag: number;
  /** `schema.table` of a TABLE DATA entry loaded by COPY. */
  table?: string;
}

interface Head {
  entries: Map<number, Entry>;
  compressed: boolean;
}

/** The block being walked: a table's data, or the large objects (each an oid, then its chunks). */
interface Block {
  offset: number;
  type: number;
  dumpId: number;
  chunks: number;
  /** In the chunks of a table's data, or of one large object. */
  inChunks: boolean;
}

/**
 * Walks an archive once, possibly while it is still being written (advance() as often as more is
 * there), then writes the offsets it found (apply(), once the archive has been verified).
 */
export class ArchiveWalker {
  private readonly fd: number;
  private readonly r: Reader;
  private head?: Head;
  private block: Block | null = null;
  private readonly found: { entry: Entry; offset: number }[] = [];
  private readonly rows = new Map<string, number>();
  private skipped?: string;
  private done = false;
  private open = true;
  /** How many times it stopped to wait for more (at the end of what was written, or its budget spent). */
  waits = 0;
  // Checkpoint: where to resume when the file ends mid-block.
  private ckPos = 0;
  private ckChunks = 0;
  private ckInChunks = false;

  constructor(private readonly file: string) {
    this.fd = openSync(file, 'r');
    this.r = new Reader(this.fd);
  }

  /**
   * Parses as far as the file goes. `growing`: its writer may still append, so stop at its end
   * (or after `budget` bytes, to let other work run) and wait for more. True once walked whole
   * (or given up on: an archive it does not understand).
   */
  advance(growing: boolean, budget = Infinity): boolean {
    if (this.done) return true;
    this.r.growing = growing;
    try {
      if (!this.head) {
        this.r.pos = 0;
        const head = readHead(this.r);
        if (typeof head === 'string') return this.finish(head);
        this.head = head;
        this.ckPos = this.r.pos;
      }
      this.walk(this.r.pos + budget);
      return this.finish();
    } catch (err) {
      if (err instanceof NeedMore) {
        this.waits++;
        // A block is checkpointed as soon as it is set, so one that exists is the checkpoint's.
        this.r.pos = this.ckPos;
        if (this.block) Object.assign(this.block, { chunks: this.ckChunks, inChunks: this.ckInChunks });
        return false;
      }
      if (err instanceof Malformed) return this.finish(err.message);
      throw err;
    }
  }

  /** Writes the offsets found into the TOC (call only once the bytes are verified) and closes the file. */
  apply(): ArchiveIndex {
    this.close();
    if (!this.done) return { offsets: { skipped: 'the archive was not walked to its end' } };
    // Walked whole without giving up means its head was read.
    if (this.skipped !== undefined) return { offsets: { skipped: this.skipped } };
    const head = this.head!;
    if (this.found.length) {
      const fd = openSync(this.file, 'r+');
      try {
        const patch = Buffer.alloc(1 + OFFSET_SIZE);
        for (const { entry, offset } of this.found) {
          patch[0] = POS_SET;
          patch.writeBigUInt64LE(BigInt(offset), 1);
          writeSync(fd, patch, 0, patch.length, entry.flagAt);
        }
      } finally {
        closeSync(fd);
      }
    }
    const set = !this.found.length && [...head.entries.values()].some((e) => e.flag === POS_SET);
    return {
      offsets: set ? { skipped: 'the offsets are already set' } : { patched: this.found.length },
      rows: head.compressed ? undefined : this.rows,
    };
  }

  close(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }

  private finish(skipped?: string): true {
    this.skipped = skipped;
    this.done = true;
    return true;
  }

  private checkpoint(): void {
    this.ckPos = this.r.pos;
    if (this.block) {
      this.ckChunks = this.block.chunks;
      this.ckInChunks = this.block.inChunks;
    }
  }

  private walk(pauseAt: number): void {
    const r = this.r;
    for (;;) {
      if (!this.block) {
        this.checkpoint();
        if (r.pos > pauseAt) throw new NeedMore();
        if (r.atEnd()) return;
        const offset = r.pos;
        const type = r.byte();
        const dumpId = r.int();
        if (type !== BLK_DATA && type !== BLK_BLOBS) throw new Malformed(`unknown block type ${type}`);
        this.block = { offset, type, dumpId, chunks: 0, inChunks: type === BLK_DATA };
        this.checkpoint();
      }
      const block = this.block;
      if (!block.inChunks) {
        // Large objects: each one's oid, then its chunks; oid 0 ends the block.
        if (r.int() === 0) {
          this.endBlock(block);
          continue;
        }
        block.inChunks = true;
        this.checkpoint();
      }
      // Skipping needs only a chunk's length: its bytes may still be on their way.
      for (let n = r.int(); n !== 0; n = r.int()) {
        if (n < 0) throw new Malformed('negative chunk length');
        if (n > 8) {
          r.skip(n);
          block.chunks++;
        } else if (!isEndMarker(r.bytes(n))) block.chunks++;
        this.ckPos = r.pos;
        this.ckChunks = block.chunks;
        if (r.pos > pauseAt) throw new NeedMore();
      }
      if (block.type === BLK_DATA) this.endBlock(block);
      else {
        block.inChunks = false;
        this.checkpoint();
      }
    }
  }

  private endBlock(block: Block): void {
    const entry = this.head!.entries.get(block.dumpId);
    if (block.type === BLK_DATA && entry?.table) this.rows.set(entry.table, block.chunks);
    if (entry?.flag === POS_NOT_SET) this.found.push({ entry, offset: block.offset });
    this.block = null;
  }
}

/** Indexes the archive at `file`, patching its offsets in place; never throws for an archive it does not understand. */
export function indexArchive(file: string): ArchiveIndex {
  const walker = new ArchiveWalker(file);
  try {
    walker.advance(false);
    return walker.apply();
  } finally {
    walker.close();
  }
}

/**
 * Walks the archive at `file` while its writer appends to it, and to its end once `written` has
 * settled. The walker's offsets are for apply() once the archive is verified.
 */
export async function followArchive(file: string, written: Promise<unknown>): Promise<ArchiveWalker> {
  let settled = false;
  const writing = written.then(
    () => (settled = true),
    () => (settled = true),
  );
  const walker = new ArchiveWalker(file);
  try {
    for (;;) {
      const growing = !settled;
      if (walker.advance(growing, growing ? FOLLOW_BUDGET : Infinity) || !growing) return walker;
      await Promise.race([writing, new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS))]);
    }
  } catch (err) {
    walker.close();
    throw err;
  }
}

/** While following, at most this much is walked before other work (the hashing) gets its turn. */
const FOLLOW_BUDGET = 64 << 20;
const FOLLOW_POLL_MS = 20;

/** The header and TOC, or why the archive is not one we walk. */
function readHead(r: Reader): Head | string {
  if (r.bytes(5).toString('latin1') !== 'PGDMP') return 'not a custom-format archive';
  const [major, minor] = [r.byte(), r.byte(), r.byte()];
  if (major !== 1 || minor! < 12 || minor! > 15) return `archive version 1.${minor} is not one we patch`;
  r.intSize = r.byte();
  const offSize = r.byte();
  const format = r.byte();
  if (r.intSize < 1 || r.intSize > 6 || offSize !== OFFSET_SIZE || format !== 1) return 'unexpected archive header';
  // 1.15 names the algorithm (0: none); before, a zlib level (0: none).
  const compressed = (minor! >= 15 ? r.byte() : r.int()) !== 0;
  for (let i = 0; i < 7; i++) r.int(); // creation time
  r.str(); // database
  r.str(); // server version
  r.str(); // pg_dump version

  const entries = new Map<number, Entry>();
  const count = r.int();
  for (let i = 0; i < count; i++) {
    const dumpId = r.int();
    r.int(); // has data dumper
    for (let s = 0; s < 2; s++) r.str(); // table oid, oid
    const tag = r.str();
    const desc = r.str();
    r.int(); // section
    r.str(); // defn
    r.str(); // dropStmt
    const copyStmt = r.str();
    const namespace = r.str();
    r.str(); // tablespace
    if (minor! >= 14) r.str(); // table access method
    r.str(); // owner
    r.str(); // "false" (with oids)
    while (r.str() !== null); // dependencies
    const flagAt = r.pos;
    const flag = r.byte();
    r.skip(OFFSET_SIZE);
    const table = desc === 'TABLE DATA' && copyStmt ? `${namespace}.${tag}` : undefined;
    entries.set(dumpId, { flagAt, flag, table });
  }
  return { entries, compressed };
}

/**
 * pg_dump's end-of-data marker (a chunk of `\.` and newlines after a table's COPY rows), which is
 * no row: a COPY text row never starts with `\.`, since every backslash in a value is written as `\\`.
 */
function isEndMarker(chunk: Buffer): boolean {
  return chunk[0] === 0x5c && chunk[1] === 0x2e;
}
