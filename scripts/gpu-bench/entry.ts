/**
 * The GPU bench's Node side (issue 13): training and inference samples/s of our engine on one
 * backend at a BERT shape, as one JSON line. Bundled by scripts/gpu-bench/build.sh into a single
 * file that runs on a machine with only Node (no npm install there).
 *
 *   node bench.mjs --backend webgpu|native --shape bert-mini|bert-base [--batch 16 --seq 128 --steps 10 --warmup 2]
 */
import { startBackend } from '../../src/main/engine/backends/start';
import { measureThroughput, SHAPES } from '../../src/main/engine/throughput';
import type { BackendName } from '../../src/shared/types';

const argv = process.argv.slice(2);
const opt = (name: string, def: string): string => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1]! : def);
const shapeName = opt('shape', 'bert-mini') as keyof typeof SHAPES;
const backend = opt('backend', 'webgpu') as BackendName;
const shape = { ...SHAPES[shapeName], batch: Number(opt('batch', '16')), seq: Number(opt('seq', '128')) };

try {
  const { info, kernels } = await startBackend(backend);
  const r = await measureThroughput(shape, kernels, { steps: Number(opt('steps', '10')), warmup: Number(opt('warmup', '2')) });
  console.log(JSON.stringify({ engine: 'finetune-studio', backend: info.name, label: info.label, shape: shapeName, batch: shape.batch, seq: shape.seq, ...r }));
} catch (err) {
  console.log(JSON.stringify({ engine: 'finetune-studio', backend, shape: shapeName, unavailable: (err as Error).message.split('\n')[0] }));
}
process.exit(0);
