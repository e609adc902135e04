/**
 * The engine window's page in a real Chromium renderer (Debian's chromium via playwright-core) on
 * a software WebGPU adapter (SwiftShader): the built page out/renderer/engine-window/ is served
 * over http://127.0.0.1, handed a MessagePort as the preload would, and trains the golden step of
 * each reference family through the protocol, driven by EngineWindowClient from this process.
 *
 * Electron itself cannot launch here; what runs is the part that runs in its renderer. The test
 * bridges the client's port into the page (ArrayBuffers as base64 across Playwright), where a real
 * MessageChannel carries the messages to the page's EngineHost.
 *
 * Skips, saying why, when this Chromium offers no WebGPU adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineWindowClient } from '../../src/main/engine/window-client';
import { FAMILIES } from '../helpers/reference';
import { useHeavyTimeouts } from '../engine/timeouts';
import { goldenStep } from './golden-step';
import { openEnginePage, type EnginePage } from './page-bridge';

useHeavyTimeouts();

let engine: EnginePage | null = null;
let client: EngineWindowClient | null = null;
/** Why the golden steps cannot run in this Chromium, or null. */
let noAdapter: string | null = null;
let pageErrors: string[] = [];

beforeAll(async () => {
  engine = await openEnginePage();
  ({ client, noAdapter, pageErrors } = engine);
});

afterAll(async () => {
  await engine?.close();
});

describe('engine window page in Chromium (WebGPU, software adapter)', () => {
  it('greets on the port it was handed, reporting WebGPU', async () => {
    const hello = await client!.ready();
    expect(hello.webgpu).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it.for(FAMILIES)('%s: the golden training step through the protocol: loss, grad norm, parameters, logits; no tensor leaks', async (family, ctx) => {
    if (noAdapter) {
      ctx.skip(noAdapter);
      return;
    }
    const r = await goldenStep(client!, family, true);
    console.log(
      `[engine-window ${family}] ${r.init.device}: loss diff ${r.lossDiff.toExponential(2)}, grad norm rel ${r.gradNormRel.toExponential(2)}, ` +
        `clip diff ${r.clipCoefDiff.toExponential(2)}, logits before ${r.logitsBeforeDiff.toExponential(2)}, after ${r.logitsAfterDiff.toExponential(2)}, ` +
        `params first8 ${r.paramsFirst8Diff.toExponential(2)}, tensors ${r.tensorsAfterSecondStep}/${r.tensorsAfterThirdStep}`,
    );
    expect(r.init.backend).toBe('webgpu');
    expect(r.init.device).toMatch(/via WebGPU \(Chromium\)/);
    expect(r.lossDiff).toBeLessThanOrEqual(1e-5);
    expect(r.gradNormRel).toBeLessThanOrEqual(1e-4);
    expect(r.clipCoefDiff).toBeLessThanOrEqual(1e-6);
    expect(r.logitsBeforeDiff).toBeLessThanOrEqual(1e-4);
    expect(r.logitsAfterDiff).toBeLessThanOrEqual(1e-4);
    expect(r.paramsFirst8Diff).toBeLessThanOrEqual(1e-4);
    expect(r.tensorsAfterThirdStep).toBe(r.tensorsAfterSecondStep);
    expect(pageErrors).toEqual([]);
  });
});
