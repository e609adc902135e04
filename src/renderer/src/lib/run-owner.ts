/** Who trains a run, in words, when it is another process (issue 12.1): the Runs page disables Resume/Delete/Cancel with it. */
import type { RunOwner, RunSummary } from '../../../shared/types';

const HOST_TEXT: Record<RunOwner['host'], string> = {
  cli: 'finetune train',
  web: 'the browser app',
  electron: 'the desktop app',
};

/** "Training in another window (finetune train, pid 1234)" when another live process owns the run; null when this app does or nobody does. */
export function ownerElsewhere(run: Pick<RunSummary, 'owner' | 'ownedHere'>): string | null {
  if (!run.owner || run.ownedHere) return null;
  return `Training in another window (${HOST_TEXT[run.owner.host] ?? run.owner.host}, pid ${run.owner.pid})`;
}

/** Why an action on a run owned elsewhere is refused here. */
export function ownedElsewhereReason(run: Pick<RunSummary, 'owner' | 'ownedHere'>, action: 'resume' | 'delete' | 'cancel'): string | null {
  const who = ownerElsewhere(run);
  if (!who) return null;
  const what = action === 'cancel' ? 'Stop it there' : 'Wait for it to finish there';
  return `${who}. ${what}; this window cannot ${action} it.`;
}
