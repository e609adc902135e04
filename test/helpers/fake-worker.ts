/** A worker launcher whose workers never train: a run stays `running` until the test ends it. */
import type { WorkerHandle, WorkerLauncher } from '../../src/main/training/launcher';
import type { ParentMessage, WorkerMessage } from '../../src/main/engine/protocol';

export interface FakeWorker extends WorkerHandle {
  /** What the parent sent to this worker, in order. */
  sent: ParentMessage[];
  /** Delivers a message as if the worker had sent it. */
  emit(message: WorkerMessage): void;
  /** Ends the process as if it had exited or been killed. */
  exit(code: number | null, signal: string | null): void;
}

export function fakeLauncher(): { launcher: WorkerLauncher; workers: FakeWorker[] } {
  const workers: FakeWorker[] = [];
  const launcher: WorkerLauncher = () => {
    const messageListeners: ((m: WorkerMessage) => void)[] = [];
    const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
    let exited = false;
    const w: FakeWorker = {
      pid: undefined,
      sent: [],
      send: (m) => w.sent.push(m),
      onMessage: (l) => messageListeners.push(l),
      onExit: (l) => exitListeners.push(l),
      kill: () => w.exit(null, 'SIGKILL'),
      emit: (m) => messageListeners.forEach((l) => l(m)),
      exit: (code, signal) => {
        if (exited) return;
        exited = true;
        exitListeners.forEach((l) => l(code, signal));
      },
    };
    workers.push(w);
    return w;
  };
  return { launcher, workers };
}
