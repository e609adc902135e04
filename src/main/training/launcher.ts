/**
 * Starting the engine worker. The CLI and web host fork a Node process; Electron's main passes
 * its own launcher built on utilityProcess (src/main/index.ts), so this file stays free of
 * electron imports.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParentMessage, WorkerMessage } from '../engine/protocol';

export interface WorkerHandle {
  pid: number | undefined;
  send(message: ParentMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Called once when the process ends: exit code, or the signal that killed it. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type WorkerLauncher = (entry: string, env: NodeJS.ProcessEnv) => WorkerHandle;

/** The worker bundle: out/main/trainer.js, beside the entry bundles (this code may sit in out/main/chunks). */
export function defaultWorkerEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'trainer.js'), path.join(here, '..', 'trainer.js')];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}

/**
 * The data worker bundle: out/main/data-worker.js, found as the trainer's is. In a packaged app
 * both lie in app.asar, which Electron's worker threads read. Run from the sources (tests), the
 * built out/main/data-worker.js of the checkout.
 */
export function defaultDataWorkerEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'data-worker.js'), path.join(here, '..', 'data-worker.js'), path.join(here, '..', '..', '..', 'out', 'main', 'data-worker.js')];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}

export const forkLauncher: WorkerLauncher = (entry, env) => {
  const child = fork(entry, [], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
    serialization: 'advanced',
  });
  let exited = false;
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  child.once('exit', (code, signal) => {
    exited = true;
    for (const l of exitListeners) l(code, signal);
  });
  child.once('error', () => {
    if (!exited) {
      exited = true;
      for (const l of exitListeners) l(1, null);
    }
  });
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (l) => child.on('message', (m) => l(m as WorkerMessage)),
    onExit: (l) => exitListeners.push(l),
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
};
