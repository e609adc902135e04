/** What a CLI command writes to: lines on stdout and stderr, and Ctrl-C as an abort signal. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Writes to stdout without a newline (a progress bar on a TTY). */
  write?: (s: string) => void;
  isTTY: boolean;
  /** Aborted on Ctrl-C by the caller. */
  signal?: AbortSignal;
}
