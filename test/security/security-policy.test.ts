import { describe, expect, it } from 'vitest';
import {
  APP_ORIGIN,
  CONTENT_SECURITY_POLICY,
  isSafeExternalUrl,
  isTrustedSender,
  isTrustedUrl,
  resolveAppFile,
} from '../../src/main/security-policy';

const DEV = 'http://localhost:5173';

describe('trusted URLs', () => {
  it.each([`${APP_ORIGIN}/index.html`, `${APP_ORIGIN}/`, `${APP_ORIGIN}/assets/x.js?v=1#h`])('accepts our page %s', (url) => {
    expect(isTrustedUrl(url)).toBe(true);
  });

  it.each([
    'https://evil.example/',
    'http://127.0.0.1:5173/',
    'file:///etc/passwd',
    'app://finetune.evil.example/',
    'app://evil/index.html',
    'app://user:pass@finetune/index.html',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'about:blank',
    'chrome://settings',
    'devtools://devtools/bundled/inspector.html',
    '',
    'not a url',
    'APP://FINETUNE/index.html',
  ])('refuses %s', (url) => {
    expect(isTrustedUrl(url)).toBe(false);
  });

  it('accepts the dev server origin only when given, only on loopback, and not other ports', () => {
    expect(isTrustedUrl(`${DEV}/index.html`)).toBe(false);
    expect(isTrustedUrl(`${DEV}/index.html`, DEV)).toBe(true);
    expect(isTrustedUrl('http://localhost:5174/', DEV)).toBe(false);
    expect(isTrustedUrl('http://evil.example:5173/', 'http://evil.example:5173')).toBe(false);
  });
});

describe('trusted senders', () => {
  const top = { url: `${APP_ORIGIN}/index.html`, top: null };
  it('accepts the top frame of our page', () => {
    expect(isTrustedSender(top)).toBe(true);
    const self: { url: string; top?: unknown } = { url: `${APP_ORIGIN}/index.html` };
    self.top = self;
    expect(isTrustedSender(self as never)).toBe(true);
  });
  it('refuses missing frames, sub-frames and foreign pages', () => {
    expect(isTrustedSender(null)).toBe(false);
    expect(isTrustedSender(undefined)).toBe(false);
    expect(isTrustedSender({ url: `${APP_ORIGIN}/index.html`, top: { url: `${APP_ORIGIN}/index.html` } })).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', top: null })).toBe(false);
    expect(isTrustedSender({ url: 'file:///tmp/x.html', top: null })).toBe(false);
  });
});

describe('external links', () => {
  it('only https without credentials goes to the system browser', () => {
    expect(isSafeExternalUrl('https://huggingface.co/roberta-base')).toBe(true);
    for (const u of ['http://huggingface.co', 'file:///etc/passwd', 'javascript:alert(1)', 'https://user:pw@example.com', 'smb://host/share', 'ms-msdt:/id', '']) {
      expect(isSafeExternalUrl(u), u).toBe(false);
    }
  });
});

describe('app:// file mapping', () => {
  const root = '/app/out/renderer';
  it('maps paths under the renderer folder', () => {
    expect(resolveAppFile(`${APP_ORIGIN}/`, root)).toBe(`${root}/index.html`);
    expect(resolveAppFile(`${APP_ORIGIN}/assets/index-1.js`, root)).toBe(`${root}/assets/index-1.js`);
    expect(resolveAppFile(`${APP_ORIGIN}/assets/a%20b.css`, root)).toBe(`${root}/assets/a b.css`);
  });
  it.each([
    `${APP_ORIGIN}/../../etc/passwd`,
    `${APP_ORIGIN}/assets/%2e%2e/%2e%2e/secret`,
    `${APP_ORIGIN}/assets/..%2f..%2fsecret`,
    `${APP_ORIGIN}/a%5c..%5c..%5cwin.ini`,
    `${APP_ORIGIN}/a%00.js`,
    `${APP_ORIGIN}/%E0%A4%A`,
    'app://other/index.html',
    'https://finetune/index.html',
  ])('refuses %s', (url) => {
    const file = resolveAppFile(url, root);
    if (file !== null) expect(file.startsWith(root + '/')).toBe(true);
    expect(file === null || !file.includes('..')).toBe(true);
  });
});

describe('content security policy', () => {
  it('allows nothing remote, no eval, no frames, no plugins', () => {
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'self'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/object-src 'none'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/frame-ancestors 'none'/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:|\*/);
  });
});
