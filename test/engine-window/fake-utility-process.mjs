/**
 * Loaded with --import before the built engine worker (out/main/trainer.js) in a forked Node
 * process: it gives the worker an Electron-like process.parentPort, so the worker takes the
 * utility-process path (worker.ts), and bridges it and an engine-window port (MessagePortMain's
 * shape: 'message' events carry { data }) to the test over IPC (serialization 'advanced', so
 * ArrayBuffers cross). Electron itself cannot launch here. Messages from the test:
 *   { kind: 'parent', data }   a message from main on the parent port
 *   { kind: 'engine-port' }    main's { type: 'engine-port' } with the window's port
 *   { kind: 'engine', data }   the window's reply on that port
 *   { kind: 'engine-close' }   the window's port closes
 * and to the test: { kind: 'worker', data } (parentPort.postMessage), { kind: 'engine', data }
 * (a request on the window's port).
 */
import { EventEmitter } from 'node:events';

const parentPort = new EventEmitter();
parentPort.postMessage = (data) => process.send({ kind: 'worker', data });

const windowPort = new EventEmitter();
windowPort.postMessage = (data) => process.send({ kind: 'engine', data });
windowPort.start = () => {};

process.on('message', (m) => {
  if (m.kind === 'parent') parentPort.emit('message', { data: m.data, ports: [] });
  else if (m.kind === 'engine-port') parentPort.emit('message', { data: { type: 'engine-port' }, ports: [windowPort] });
  else if (m.kind === 'engine') windowPort.emit('message', { data: m.data });
  else if (m.kind === 'engine-close') windowPort.emit('close');
});

Object.defineProperty(process, 'parentPort', { value: parentPort });
