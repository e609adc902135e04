/** A typed event bus: the app emits AppEvents, each transport (IPC, SSE, CLI) forwards them. */
import type { AppEventListener, AppEventName, AppEvents } from '../shared/api';

export type AnyEventListener = <K extends AppEventName>(event: K, payload: AppEvents[K]) => void;

export class AppEventBus {
  private readonly listeners = new Map<AppEventName, Set<AppEventListener<AppEventName>>>();
  private readonly allListeners = new Set<AnyEventListener>();

  emit<K extends AppEventName>(event: K, payload: AppEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) safely(() => (l as AppEventListener<K>)(payload));
    for (const l of this.allListeners) safely(() => l(event, payload));
  }

  on<K extends AppEventName>(event: K, listener: AppEventListener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as AppEventListener<AppEventName>);
    return () => set!.delete(listener as AppEventListener<AppEventName>);
  }

  /** Every event, with its name: what a transport subscribes to. */
  onAny(listener: AnyEventListener): () => void {
    this.allListeners.add(listener);
    return () => this.allListeners.delete(listener);
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // A broken listener (a closed window, a dropped socket) must not stop the others.
    console.error('event listener failed:', err);
  }
}
