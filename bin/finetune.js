#!/usr/bin/env node
// The `finetune` command line: runs the built CLI bundle (npm run build writes out/main/cli.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('finetune: the CLI is not built yet. Run "npm run build" in the Finetune Studio folder first.\n');
  process.exit(1);
}
process.env.FINETUNE_CLI_ENTRY = '1';
await import(pathToFileURL(cli).href);
