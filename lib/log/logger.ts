/**
 * Logging. One root logger is built at start-up (createRootLogger) and passed
 * down; components take child loggers (`log.child({component})`). Messages are
 * fixed sentences, variables go in fields. JSON lines when stderr is not a
 * terminal, readable lines when it is.
 */
import winston from 'winston';

/** Logger is the logging interface used everywhere (a winston logger). */
export type Logger = winston.Logger;

/** LogLevel is a winston npm level. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** createRootLogger builds the process's root logger writing to stderr. */
export function createRootLogger(opts: { level?: LogLevel; json?: boolean } = {}): Logger {
  const json = opts.json ?? !process.stderr.isTTY;
  const format = json
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.errors({ stack: false }),
        winston.format.printf((info) => {
          const { level, message, timestamp, ...rest } = info;
          const fields = Object.entries(rest)
            .filter(([k]) => typeof k === 'string')
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${fields ? ` ${fields}` : ''}`;
        }),
      );
  return winston.createLogger({
    level: opts.level ?? (process.env.CLOUDLET_LOG_LEVEL as LogLevel | undefined) ?? 'info',
    format,
    transports: [new winston.transports.Stream({ stream: process.stderr })],
  });
}

/** silentLogger is a logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
