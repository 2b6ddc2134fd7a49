import { Writable } from 'node:stream';
import { createLogger, setLogger } from '@spfn/core/logger';

/** Routes the package's logger to memory; returns the captured lines. */
export function captureLogs(level: 'trace' | 'debug' | 'info' = 'debug'): { lines: string[]; text(): string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  setLogger(createLogger({ level, format: 'json', destination }));
  return { lines, text: () => lines.join('') };
}
