/**
 * `npm run serve` / `node out/main/serve.js [--port N]`: the browser host. Opens the data dir,
 * starts the web host on 127.0.0.1 and prints the URL with its token.
 */
import { createApp } from './app';
import { environment } from './environment';
import { resolveDataDir } from './paths';
import { createWebHost, defaultRendererDir } from './web';

export interface ServeOptions {
  port?: number;
  /** Printed before the URL, e.g. why Electron did not start. */
  banner?: string;
}

export async function serve(options: ServeOptions = {}): Promise<void> {
  const app = createApp({ dataDir: resolveDataDir(), host: 'web' });
  if (app.recoveredRuns > 0) console.log(`${app.recoveredRuns} run(s) left running by a crash are now marked interrupted.`);
  const host = await createWebHost({ app, rendererDir: defaultRendererDir(), port: options.port ?? 0 });
  if (options.banner) console.log(options.banner);
  console.log(`Finetune Studio is serving on ${host.url}`);
  console.log(`Data folder: ${app.dataDir}. Press Ctrl+C to stop.`);
  const stop = (): void => {
    void host.close().then(() => {
      app.close();
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function parsePort(argv: string[]): number | undefined {
  const i = argv.indexOf('--port');
  if (i < 0) return environment().port ?? undefined;
  const raw = argv[i + 1] ?? '';
  const port = Number(raw);
  if (raw === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: "${raw}" is not a port number (0-65535).`);
    process.exit(2);
  }
  return port;
}

const main = async (): Promise<void> => serve({ port: parsePort(process.argv.slice(2)), banner: environment().serveBanner ?? undefined });

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
