/**
 * Hash routing: #/data, #/model, #/settings, #/train[/<run id>], #/results[/<run id>], #/runs,
 * #/runs/<run id>, #/compare/<id>,<id>... Survives reloads: the run a step follows is in the URL.
 */

export const WIZARD_STEPS = [
  { id: 'data', label: 'Data', hint: 'Your labelled texts' },
  { id: 'model', label: 'Model', hint: 'Which model to fine-tune' },
  { id: 'settings', label: 'Settings', hint: 'Epochs, learning rate...' },
  { id: 'train', label: 'Train', hint: 'Live progress' },
  { id: 'results', label: 'Results', hint: 'Accuracy, try it, export' },
] as const;

export type StepId = (typeof WIZARD_STEPS)[number]['id'];
export type PageId = StepId | 'runs' | 'compare';

export interface Route {
  page: PageId;
  /** For #/train/<id>, #/results/<id> and #/runs/<id>: the run shown. */
  runId: string | null;
  /** For #/compare/<id>,<id>: the runs compared. */
  compare: string[];
}

const PAGES: readonly string[] = [...WIZARD_STEPS.map((s) => s.id), 'runs', 'compare'];
const WITH_RUN: readonly string[] = ['train', 'results', 'runs'];

export function parseHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const page = parts[0] && PAGES.includes(parts[0]) ? (parts[0] as PageId) : 'data';
  const runId = WITH_RUN.includes(page) && parts[1] ? parts[1] : null;
  const compare = page === 'compare' && parts[1] ? parts[1].split(',').filter(Boolean) : [];
  return { page, runId, compare };
}

export function routeHash(route: Pick<Route, 'page'> & Partial<Route>): string {
  if (route.page === 'compare') return `#/compare/${(route.compare ?? []).map(encodeURIComponent).join(',')}`;
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
    this.navigate({ page, runId, compare: [] });
  }

  compare(ids: string[]): void {
    this.navigate({ page: 'compare', runId: null, compare: ids });
  }

  private navigate(next: Route): void {
    const hash = routeHash(next);
    if (typeof location !== 'undefined' && location.hash !== hash) location.hash = hash;
    this.route = next;
  }
}

export const router = new Router();
