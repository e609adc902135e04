/** Where the app keeps its data: FINETUNE_HOME when set, else Electron's userData, else ~/.finetune-studio. */
import os from 'node:os';
import path from 'node:path';
import { readEnvironment } from './environment';

export function resolveDataDir(electronUserData?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = readEnvironment(env).home;
  if (fromEnv) return path.resolve(fromEnv);
  if (electronUserData) return electronUserData;
  return path.join(os.homedir(), '.finetune-studio');
}

export function runsDir(dataDir: string): string {
  return path.join(dataDir, 'runs');
}

export function runDir(dataDir: string, runId: string): string {
  return path.join(runsDir(dataDir), runId);
}
