import { pino, type Logger } from "pino";

/** The process logger (JSON lines on stderr, as journald expects). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: "focusbox" } }, pino.destination(2));
}
export type { Logger };
