/**
 * The preload bridge: exposes exactly AppApi (one function per method), event subscription and
 * the path of a dropped file as window.api. The renderer never sees ipcRenderer.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { AppEventName, AppEvents, BridgeApi, EvalPredictionQuery, ExportFormat, StartRunRequest } from '../shared/api';
import type { DoctorSource, InspectOverrides, PrepareRequest } from '../shared/dataset';
import type { CallResult } from '../shared/errors';
import type { ScratchShape } from '../shared/scratch';

const EVENT_CHANNEL = 'api:event';

/**
 * One AppApi call: the main process answers a CallResult, handed to the renderer as it is (a plain
 * object crosses contextBridge whole; a thrown Error would lose its code and field).
 */
function call<T>(method: string, ...args: unknown[]): Promise<CallResult<T>> {
  return ipcRenderer.invoke(`api:${method}`, ...args) as Promise<CallResult<T>>;
}

const api = {
  systemInfo: () => call('systemInfo'),
  cancelTask: (taskId: string) => call('cancelTask', taskId),
  chooseFile: (purpose: 'dataset' | 'predict-input') => call('chooseFile', purpose),
  chooseFolder: (purpose: 'model' | 'export') => call('chooseFolder', purpose),
  showInFolder: (path: string) => call('showInFolder', path),

  inspectDataset: (file: string, overrides?: InspectOverrides, taskId?: string) => call('inspectDataset', file, overrides, taskId),
  previewDataset: (file: string, limit?: number, overrides?: InspectOverrides) => call('previewDataset', file, limit, overrides),
  prepareDataset: (request: PrepareRequest, taskId?: string) => call('prepareDataset', request, taskId),
  listDatasets: () => call('listDatasets'),
  getDataset: (id: string) => call('getDataset', id),
  deleteDataset: (id: string) => call('deleteDataset', id),
  doctorDataset: (source: DoctorSource, options?: { model?: string; maxLength?: number; minClassSize?: number }, taskId?: string) =>
    call('doctorDataset', source, options, taskId),
  computeBaseline: (datasetId: string, taskId?: string) => call('computeBaseline', datasetId, taskId),

  listModels: () => call('listModels'),
  downloadModel: (repo: string, revision?: string, taskId?: string) => call('downloadModel', repo, revision, taskId),
  inspectModelFolder: (dir: string) => call('inspectModelFolder', dir),
  createScratchModel: (request: { shape: ScratchShape; labels?: string[] }) => call('createScratchModel', request),
  listFolder: (path?: string) => call('listFolder', path),
  estimateTraining: (request: StartRunRequest, taskId?: string) => call('estimateTraining', request, taskId),

  listRuns: () => call('listRuns'),
  getRun: (id: string) => call('getRun', id),
  renameRun: (id: string, name: string) => call('renameRun', id, name),
  deleteRun: (id: string) => call('deleteRun', id),
  startRun: (request: StartRunRequest) => call('startRun', request),
  cancelRun: (id: string) => call('cancelRun', id),
  resumeRun: (id: string) => call('resumeRun', id),
  rerun: (id: string) => call('rerun', id),
  evalPredictions: (id: string, query: EvalPredictionQuery) => call('evalPredictions', id, query),
  predictTexts: (id: string, texts: string[]) => call('predictTexts', id, texts),
  predictFile: (id: string, inputFile: string, taskId?: string) => call('predictFile', id, inputFile, taskId),
  exportRun: (id: string, format: ExportFormat, outDir?: string, taskId?: string) => call('exportRun', id, format, outDir, taskId),

  on<K extends AppEventName>(event: K, listener: (payload: AppEvents[K]) => void): () => void {
    const handler = (_e: IpcRendererEvent, name: string, payload: unknown): void => {
      if (name === event) listener(payload as AppEvents[K]);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },

  /** The path of a file the user dropped or picked (Electron removed File.path); '' when it has none. */
  async pathForFile(file: File): Promise<string> {
    return webUtils.getPathForFile(file);
  },
} satisfies BridgeApi;

contextBridge.exposeInMainWorld('api', api);
