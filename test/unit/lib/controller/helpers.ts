/** Test helpers: a logger that keeps its records, metric readers, deferred promises. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../../../lib/log/logger.js';
import type { Metrics } from '../../../../lib/metrics/metrics.js';

export interface LogRecord {
  level: string;
  message: string;
  [field: string]: unknown;
}

export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    objectMode: true,
    write(chunk: LogRecord, _enc, cb) {
      records.push(chunk);
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, records };
}

export async function counterValue(metrics: Metrics, name: 'reconciles' | 'errors', labels: Record<string, string>): Promise<number> {
  const data = await metrics[name].get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val));
  return hit?.value ?? 0;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
