/** Hash routing: #/data, #/model, #/settings, #/train, #/results, #/runs, #/runs/<id>. Survives reloads. */

export const WIZARD_STEPS = [
  { id: 'data', label: 'Data', hint: 'Your labelled texts' },
  { id: 'model', label: 'Model', hint: 'Which model to fine-tune' },
  { id: 'settings', label: 'Settings', hint: 'Epochs, learning rate...' },
  { id: 'train', label: 'Train', hint: 'Live progress' },
  { id: 'results', label: 'Results', hint: 'Accuracy, try it, export' },
] as const;

export type StepId = (typeof WIZARD_STEPS)[number]['id'];
export type PageId = StepId | 'runs';

export interface Route {
  page: PageId;
  /** For #/runs/<id>: the run shown. */
  runId: string | null;
}

const PAGES: readonly string[] = [...WIZARD_STEPS.map((s) => s.id), 'runs'];

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const page = parts[0] && PAGES.includes(parts[0]) ? (parts[0] as PageId) : 'data';
  const runId = page === 'runs' && parts[1] ? parts[1] : null;
  return { page, runId };
}

export function routeHash(route: Route): string {
  return route.runId ? `#/${route.page}/${encodeURIComponent(route.runId)}` : `#/${route.page}`;
}

class Router {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('hashchange', () => {
        this.route = parseHash(location.hash);
      });
    }
  }

  go(page: PageId, runId: string | null = null): void {
    const next = { page, runId };
    const hash = routeHash(next);
    if (location.hash !== hash) location.hash = hash;
    this.route = next;
  }
}

export const router = new Router();
