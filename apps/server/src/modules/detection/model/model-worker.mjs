// The moderation model in a worker thread (started by classifier.ts): nsfwjs's MobileNetV2 on
// TensorFlow.js with the WebAssembly backend, loaded once, so that classifying frames never blocks the
// server's event loop. Plain JavaScript, so that it runs as is under the tsx loader (development, tests) and
// next to the production bundle (scripts/build.ts copies it to dist/).
//
// Messages in:  { id, frames: [{ rgb: ArrayBuffer | Uint8Array, size }] }  (size×size RGB, 3 bytes a pixel)
//               { id, debug: 'fetch' | 'state' | 'crash' }               (tests and measurements)
// Messages out: { ready: true, loadMs, backend, fetchCalls }  once the model is loaded
//               { id, scores: [{ porn, sexy, hentai, drawing, neutral }] } or { id, error }
//
// Nothing is downloaded at run time: the weights ship inside the nsfwjs package and the wasm binaries inside
// @tensorflow/tfjs-backend-wasm. `fetch` is replaced, before anything is imported, by one that throws.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

// This thread alone yields the CPU (Linux's nice is per thread; the event loop keeps its priority).
if (workerData?.nice > 0) {
  try {
    os.setPriority(Math.min(19, workerData.nice));
  } catch {
    // Not permitted here (a container without the capability): run at the process's priority.
  }
}

let fetchCalls = 0;
globalThis.fetch = (input) => {
  fetchCalls++;
  throw new Error(`model worker: fetch is disabled (asked for ${String(input)}); the model ships in nsfwjs`);
};

/** The model's input side, and its output classes in the order of its 5 outputs (nsfwjs's NSFW_CLASSES). */
const SIZE = 224;
const CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'];
/**
 * Frames run through the network this many at a time, as one [n, 224, 224, 3] tensor. Batches are no faster
 * on the wasm backend (1, 4, 8 and 32 frames a tensor all ran at 14-17.5 frames/s on 2 cores, the spread
 * being noise) while the wasm heap, which never shrinks, grows with them (process RSS ~320 MB at 1 or 4,
 * ~430 MB at 8, ~1080 MB at 32): one frame at a time.
 */
const BATCH = 1;

const require = createRequire(import.meta.url);
const started = performance.now();
const { default: tf } = await import('@tensorflow/tfjs');
const { default: wasm } = await import('@tensorflow/tfjs-backend-wasm');
wasm.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
if (!(await tf.setBackend('wasm'))) throw new Error('model worker: the wasm backend did not initialise');
await tf.ready();
// nsfwjs announces the model it loads with console.info: not a line for the server's log.
const info = console.info;
console.info = () => {};
let nsfw;
try {
  nsfw = await (await import('nsfwjs')).load('MobileNetV2');
} finally {
  console.info = info;
}
const model = nsfw.model;

/** One frame as a [224, 224, 3] float tensor scaled to [0, 1], resized as nsfwjs does when it is not 224. */
function input(frame) {
  const { size } = frame;
  const rgb = frame.rgb instanceof ArrayBuffer ? new Uint8Array(frame.rgb) : frame.rgb;
  if (!Number.isInteger(size) || size <= 0 || rgb.byteLength !== size * size * 3)
    throw new Error(`frame of ${rgb.byteLength} bytes is not ${size}x${size} RGB`);
  const scaled = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) scaled[i] = rgb[i] / 255;
  const image = tf.tensor3d(scaled, [size, size, 3], 'float32');
  return size === SIZE ? image : tf.image.resizeBilinear(image, [SIZE, SIZE], true);
}

/** The 5 probabilities of every frame, from the model's softmax output (all classes, model order). */
async function classify(frames) {
  const scores = [];
  for (let i = 0; i < frames.length; i += BATCH) {
    const chunk = frames.slice(i, i + BATCH);
    const output = tf.tidy(() => model.predict(tf.stack(chunk.map(input))));
    const values = await output.data();
    output.dispose();
    for (let f = 0; f < chunk.length; f++) {
      const s = {};
      CLASSES.forEach((c, k) => {
        s[c] = values[f * CLASSES.length + k];
      });
      scores.push({ porn: s.porn, sexy: s.sexy, hentai: s.hentai, drawing: s.drawing, neutral: s.neutral });
    }
  }
  return scores;
}

/** Test and measurement hooks: try a download; report memory, live tensors and the downloads tried. */
function debug(op) {
  if (op === 'fetch') return fetch('http://127.0.0.1/model.json');
  if (op === 'state') {
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed, tensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes, fetchCalls };
  }
  throw new Error(`unknown debug operation ${op}`);
}

parentPort.on('message', async (msg) => {
  if (msg.debug === 'crash') {
    // An uncaught exception, as a bug in the model code would throw: the thread dies without answering.
    setImmediate(() => {
      throw new Error('model worker: crash asked for');
    });
    return;
  }
  try {
    if (msg.debug) parentPort.postMessage({ id: msg.id, debug: await debug(msg.debug) });
    else parentPort.postMessage({ id: msg.id, scores: await classify(msg.frames) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort.postMessage({
  ready: true,
  loadMs: Math.round(performance.now() - started),
  backend: tf.getBackend(),
  fetchCalls,
});
