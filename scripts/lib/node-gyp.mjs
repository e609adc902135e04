/** Finding node-gyp for the scripts that build native modules (the native kernels, better-sqlite3 for Electron). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function onPath(cmd) {
  const probe = process.platform === 'win32' ? spawnSync('where', [cmd]) : spawnSync('sh', ['-c', `command -v ${cmd}`]);
  return probe.status === 0;
}

/**
 * node-gyp's entry script: the one npm passes to install scripts, npm's bundled copy, or one in
 * the project; else a node-gyp on the PATH. Returns how to run it, or null.
 */
export function findNodeGyp(root) {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return { cmd: process.execPath, args: [c] };
  if (onPath('node-gyp')) return { cmd: 'node-gyp', args: [] };
  return null;
}
