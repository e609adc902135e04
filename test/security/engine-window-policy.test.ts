import { describe, expect, it } from 'vitest';
import {
  allowEngineNavigation,
  allowEnginePermission,
  allowEngineWindowOpen,
  ENGINE_WINDOW_URL,
  engineWindowGoneMessage,
  engineWindowOptions,
  engineWindowWanted,
  isEngineWindowUrl,
  webGpuSwitches,
} from '../../src/main/engine-window-policy';

describe('engine window options', () => {
  const o = engineWindowOptions('/app/out/preload/engine.cjs');

  it('is never shown and never takes focus', () => {
    expect(o.show).toBe(false);
    expect(o.focusable).toBe(false);
    expect(o.skipTaskbar).toBe(true);
  });

  it('is sandboxed, context-isolated, without Node anywhere, with only its own preload', () => {
    const w = o.webPreferences;
    expect(w).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webviewTag: false, webSecurity: true, allowRunningInsecureContent: false });
    expect(w.preload).toBe('/app/out/preload/engine.cjs');
    expect(w.devTools).toBe(false);
    expect(engineWindowOptions('/p', { devTools: true }).webPreferences.devTools).toBe(true);
  });

  it('is not throttled while hidden (training runs in it)', () => {
    expect(o.webPreferences.backgroundThrottling).toBe(false);
  });
});

describe('engine window URLs', () => {
  it('shows exactly its own page on the app scheme', () => {
    expect(ENGINE_WINDOW_URL).toBe('app://finetune/engine-window/index.html');
    expect(isEngineWindowUrl(ENGINE_WINDOW_URL)).toBe(true);
    expect(allowEngineNavigation(ENGINE_WINDOW_URL)).toBe(true);
  });

  it.each([
    'app://finetune/index.html',
    'app://finetune/engine-window/index.html?x=1',
    'app://finetune/engine-window/index.html#frag',
    'app://finetune/engine-window/../index.html',
    'app://finetune/engine-window/',
    'app://user:pass@finetune/engine-window/index.html',
    'app://evil/engine-window/index.html',
    'http://127.0.0.1:5173/engine-window/index.html',
    'https://evil.example/engine-window/index.html',
    'file:///app/out/renderer/engine-window/index.html',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'about:blank',
    'chrome://gpu',
    '',
    'not a url',
  ])('refuses %s', (url) => {
    expect(isEngineWindowUrl(url)).toBe(false);
    expect(allowEngineNavigation(url)).toBe(false);
  });

  it('opens no windows and grants no permission', () => {
    expect(allowEngineWindowOpen(ENGINE_WINDOW_URL)).toBe(false);
    expect(allowEngineWindowOpen('https://huggingface.co/')).toBe(false);
    for (const p of ['media', 'notifications', 'clipboard-read', 'geolocation', 'fullscreen', 'openExternal', 'hid', 'usb', 'serial']) expect(allowEnginePermission(p)).toBe(false);
  });
});

describe('WebGPU switches', () => {
  it('on Linux: unsafe WebGPU over Vulkan; SwiftShader only when a software adapter is allowed', () => {
    expect(webGpuSwitches('linux', false)).toEqual([['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']]);
    expect(webGpuSwitches('linux', true).map((s) => s[0])).toEqual(['enable-unsafe-webgpu', 'enable-features', 'use-webgpu-adapter', 'use-vulkan']);
  });

  it('elsewhere: none', () => {
    expect(webGpuSwitches('darwin', true)).toEqual([]);
    expect(webGpuSwitches('win32', false)).toEqual([]);
  });
});

describe('engine window gone', () => {
  it('says what happened and what to do', () => {
    expect(engineWindowGoneMessage('oom', 137)).toMatch(/ran out of memory.*smaller batch size/);
    expect(engineWindowGoneMessage('crashed', 1)).toMatch(/crashed \(exit code 1\)/);
    expect(engineWindowGoneMessage('abnormal-exit', 2)).toMatch(/ended \(abnormal-exit\)/);
  });
});

describe('when main opens an engine window', () => {
  it('only for a training run that asks for WebGPU by name (its backend, or FINETUNE_BACKEND)', () => {
    expect(engineWindowWanted({ kind: 'train', backend: 'webgpu' }, null)).toBe(true);
    expect(engineWindowWanted({ kind: 'train' }, 'webgpu')).toBe(true);
    expect(engineWindowWanted({ kind: 'train', backend: 'cpu' }, 'webgpu')).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, null)).toBe(false);
    expect(engineWindowWanted({ kind: 'train' }, 'native')).toBe(false);
    for (const kind of ['predict', 'serve', 'benchmark', 'probe-webgpu', 'count-tokens']) expect(engineWindowWanted({ kind, backend: 'webgpu' }, 'webgpu'), kind).toBe(false);
  });
});
