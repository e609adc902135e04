/**
 * Who trains a run. Several processes may open one data folder (the desktop app, `finetune
 * train`, a web host): each records itself as the owner of the runs it trains (pid, the
 * process's start time where the OS gives it, host kind, and an instance id), so another process
 * recovers only runs whose owner is gone and refuses to resume, cancel or delete a run a live
 * process is training.
 *
 * Liveness: on Linux the pid and its start time (field 22 of /proc/<pid>/stat) must both match,
 * so a reused pid is not taken for the owner; elsewhere `process.kill(pid, 0)` says whether the
 * pid exists. Two app instances in one process (tests, a host that restarts its app) are told
 * apart by the instance id, registered here while the instance is open.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { RunOwner } from '../../shared/types';

export interface OwnerRecord extends RunOwner {
  /** Start time of the owning process in clock ticks since boot (Linux), else null. */
  processStart: string | null;
  /** The createApp() instance inside that process. */
  instance: string;
}

/** Start time of a process (clock ticks since boot, field 22 of /proc/<pid>/stat), or null where unknown. */
export function processStartTime(pid: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall = index 19 after "pid (comm)"
  } catch {
    return null;
  }
}

export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const openInstances = new Set<string>();

export function newInstanceId(): string {
  return crypto.randomBytes(8).toString('hex');
}

export function registerInstance(id: string): void {
  openInstances.add(id);
}

export function unregisterInstance(id: string): void {
  openInstances.delete(id);
}

/** True while the process (and, in this process, the app instance) that recorded `owner` is alive. */
export function ownerAlive(owner: Pick<OwnerRecord, 'pid' | 'processStart' | 'instance'>): boolean {
  if (owner.pid === process.pid) return openInstances.has(owner.instance);
  if (!pidExists(owner.pid)) return false;
  if (owner.processStart !== null) {
    const now = processStartTime(owner.pid);
    if (now !== null && now !== owner.processStart) return false; // the pid was reused
  }
  return true;
}

/** The owner record of this process for a given app instance. */
export function currentOwner(host: RunOwner['host'], instance: string, at = Date.now()): OwnerRecord {
  return { pid: process.pid, host, startedAt: at, processStart: processStartTime(process.pid), instance };
}

const HOST_NAMES: Record<RunOwner['host'], string> = {
  cli: 'finetune train',
  web: 'the web host (finetune serve)',
  electron: 'the Finetune Studio app',
};

function hhmm(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "finetune train (pid 1234) since 14:02" */
export function describeOwner(owner: RunOwner): string {
  return `${HOST_NAMES[owner.host]} (pid ${owner.pid}) since ${hhmm(owner.startedAt)}`;
}
