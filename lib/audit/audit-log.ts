/**
 * AuditLog: appends audit events as JSON lines to a file (by default
 * `<dataDir>/audit/audit.log`), rotating by size like Kubernetes'
 * `--audit-log-maxsize/--audit-log-maxbackup`: when the next line would take
 * the file past maxBytes, audit.log becomes audit.log.1, .1 becomes .2, …,
 * and the oldest beyond maxFiles is dropped. A line is never split across
 * files (a line longer than maxBytes gets a file of its own).
 *
 * Recording never blocks or fails a request: record() only queues the line;
 * one drain loop appends queued lines in order, in batches. A failed write
 * is logged (and counted as an error of the component `audit`), its lines
 * are dropped, and later records are still tried. When the queue holds
 * maxQueued lines (the disk is slower than the API), further records are
 * dropped and counted the same way rather than held in memory without bound.
 * close() writes what is queued and closes the file.
 *
 * The directory is made 0700 and the files 0600: the log names users,
 * objects and source addresses.
 */
import { chmod, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../errors.js';
import { ensureMode } from '../host/data-dir.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AuditEvent } from './audit-event.js';

export * from './audit-event.js';

/** AUDIT_DIR_MODE and AUDIT_FILE_MODE are the modes of the audit directory and files. */
export const AUDIT_DIR_MODE = 0o700;
/** AUDIT_FILE_MODE is the mode of every audit file, rotated ones included. */
export const AUDIT_FILE_MODE = 0o600;

/** auditLogPath is where a member's audit log lives under its data dir. */
export function auditLogPath(dataDir: string): string {
  return join(dataDir, 'audit', 'audit.log');
}

/** AuditLogOptions configure an AuditLog; path and log are required. */
export interface AuditLogOptions {
  path: string;
  log: Logger;
  metrics?: Metrics;
  /** rotate before a line would make the file larger than this (default 100 MiB) */
  maxBytes?: number;
  /** rotated files kept: path.1 … path.maxFiles (default 5; 0 keeps none) */
  maxFiles?: number;
  /** queued lines beyond which records are dropped (default 10000) */
  maxQueued?: number;
}

/** AuditLog is the asynchronous, rotating audit log writer; build it with AuditLog.open. */
export class AuditLog {
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly maxQueued: number;
  private queue: string[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  private dropWarned = false;
  /** lines written, and lines dropped (queue full, write failed, or after close) */
  readonly counts = { written: 0, dropped: 0 };

  private constructor(
    private readonly o: AuditLogOptions,
    private file: FileHandle,
    private size: number,
  ) {
    this.maxBytes = o.maxBytes ?? 100 * 1024 * 1024;
    this.maxFiles = o.maxFiles ?? 5;
    this.maxQueued = o.maxQueued ?? 10_000;
  }

  /** open makes the directory (0700) and opens the log for appending (0600), ready to record. */
  static async open(o: AuditLogOptions): Promise<AuditLog> {
    await ensureMode(dirname(o.path), AUDIT_DIR_MODE);
    const file = await openForAppend(o.path);
    const size = (await file.stat()).size;
    return new AuditLog(o, file, size);
  }

  /** record queues one event for writing and returns at once; it never throws. */
  record(event: AuditEvent): void {
    if (this.closed || this.queue.length >= this.maxQueued) {
      this.drop(1, this.closed ? 'audit log closed' : 'audit queue full');
      return;
    }
    this.queue.push(`${JSON.stringify(event)}\n`);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** flush resolves when every line recorded so far is written (or dropped). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** close writes what is queued, then closes the file; later records are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.file.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.write(batch);
      } catch (err) {
        this.o.log.warn('audit write failed', { path: this.o.path, lines: batch.length, error: errorMessage(err) });
        this.o.metrics?.errors.inc({ component: 'audit' });
        this.counts.dropped += batch.length;
      }
    }
  }

  /** write appends lines in order, rotating at line boundaries. */
  private async write(lines: string[]): Promise<void> {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const line of lines) {
      const buf = Buffer.from(line);
      if (this.size + chunkBytes + buf.length > this.maxBytes && this.size + chunkBytes > 0) {
        await this.append(chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.rotate();
      }
      chunk.push(buf);
      chunkBytes += buf.length;
    }
    await this.append(chunk, chunkBytes);
  }

  private async append(chunk: Buffer[], bytes: number): Promise<void> {
    if (chunk.length === 0) return;
    await this.file.write(Buffer.concat(chunk, bytes));
    this.size += bytes;
    this.counts.written += chunk.length;
    this.dropWarned = false;
  }

  private async rotate(): Promise<void> {
    await this.file.close();
    const path = this.o.path;
    try {
      await unlinkIfPresent(`${path}.${this.maxFiles}`);
      for (let i = this.maxFiles - 1; i >= 1; i--) await renameIfPresent(`${path}.${i}`, `${path}.${i + 1}`);
      if (this.maxFiles > 0) await rename(path, `${path}.1`);
      else await unlinkIfPresent(path);
    } finally {
      // Reopened even when a rename failed, so later records still have a file (the next write retries the rotation).
      this.file = await openForAppend(path);
      this.size = (await this.file.stat()).size;
    }
  }

  private drop(lines: number, why: string): void {
    // One warning per burst of drops; a successful write ends the burst.
    if (!this.dropWarned) this.o.log.warn('audit records dropped', { path: this.o.path, why });
    this.dropWarned = true;
    this.o.metrics?.errors.inc({ component: 'audit' });
    this.counts.dropped += lines;
  }
}

async function openForAppend(path: string): Promise<FileHandle> {
  const file = await open(path, 'a', AUDIT_FILE_MODE);
  // An existing file keeps its mode through open(): set it, as the umask cannot widen 0600.
  if (((await file.stat()).mode & 0o777) !== AUDIT_FILE_MODE) await chmod(path, AUDIT_FILE_MODE);
  return file;
}

async function unlinkIfPresent(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  const present = await stat(from).then(
    () => true,
    () => false,
  );
  if (present) await rename(from, to);
}
