/**
 * Files dropped anywhere on the window go to the page that asked for them (batch prediction on
 * the Results step), else they open as the dataset. Pages register a handler while shown.
 */
export interface DropHandler {
  /** What a drop does, for the overlay: "open it as the dataset". */
  label: string;
  accept(file: File): void;
}

class DropStore {
  dragging = $state(false);
  private stack = $state.raw<DropHandler[]>([]);

  /** The handler of the page shown; returns the function that removes it. */
  register(handler: DropHandler): () => void {
    this.stack = [...this.stack, handler];
    return () => {
      this.stack = this.stack.filter((h) => h !== handler);
    };
  }

  current(fallback: DropHandler): DropHandler {
    return this.stack[this.stack.length - 1] ?? fallback;
  }
}

export const drops = new DropStore();

/** Whether a drag carries files (not text or links being dragged around the page). */
export function dragHasFiles(e: DragEvent): boolean {
  return !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
}
