// ONNX Runtime as a reference peer for `lathe bench infer --ort`: times an
// ONNX file's inference on the CPU at each batch size, in this process,
// with the threads given, and prints one JSON line per batch size
// ({"engine", "quant", "batch", "p50_ms", "p99_ms", "samples_per_s",
// "calls"}), as scripts/torch-infer-ref.py does for PyTorch.
//
//   node scripts/ort-infer.js --model m.onnx --shape 28,28,1 --batch 1,64 --threads 2 [--min-seconds 3] [--quant int8]
//
// With --predict FILE (N examples of raw float32 values, little-endian) it
// prints instead {"classes": [...]}: each example's most likely class, for
// tests that compare ONNX Runtime's answers with Lathe's runtime.
//
// ONNX Runtime comes from npm (`npm install --ignore-scripts
// onnxruntime-node@1.30.0`, which setup.sh does into ~/.cache/lathe/ort);
// NODE_PATH must reach its node_modules.
'use strict';

const ort = require('onnxruntime-node');

function args() {
  const out = { batch: '1,64', threads: 2, 'min-seconds': 3, quant: 'f32' };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    if (!a[i].startsWith('--') || i + 1 >= a.length) throw new Error(`bad argument ${a[i]}`);
    out[a[i].slice(2)] = a[i + 1];
  }
  for (const need of ['model', 'shape']) if (!out[need]) throw new Error(`--${need} is required`);
  return out;
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function main() {
  const o = args();
  const threads = parseInt(o.threads, 10);
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const shape = o.shape.split(',').map(Number);
  const per = shape.reduce((a, b) => a * b, 1);
  if (o.predict) {
    const buf = require('fs').readFileSync(o.predict);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const n = all.length / per;
    const classes = [];
    for (let start = 0; start < n; start += 256) {
      const batch = Math.min(256, n - start);
      const x = new ort.Tensor('float32', all.slice(start * per, (start + batch) * per), [batch, ...shape]);
      const out = await session.run({ [session.inputNames[0]]: x });
      const logits = out[session.outputNames[0]];
      const k = logits.dims[1];
      for (let i = 0; i < batch; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (logits.data[i * k + j] > logits.data[i * k + best]) best = j;
        classes.push(best);
      }
    }
    console.log(JSON.stringify({ classes }));
    return;
  }
  const minMs = 1000 * parseFloat(o['min-seconds']);
  for (const batch of o.batch.split(',').map(Number)) {
    const data = new Float32Array(batch * per);
    for (let i = 0; i < data.length; i++) data[i] = (i % 17) / 17;
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...shape]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const times = [];
    const start = performance.now();
    while (times.length < 20 || performance.now() - start < minMs) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
      if (times.length >= 100000) break;
    }
    const p50 = percentile(times, 0.5);
    console.log(JSON.stringify({
      engine: `onnxruntime ${ort.env.versions ? ort.env.versions.common : ''}`.trim(), quant: o.quant, batch,
      p50_ms: p50, p99_ms: percentile(times, 0.99), samples_per_s: batch / (p50 / 1000), calls: times.length,
    }));
  }
}

main().catch((e) => { console.error(`ort-infer: ${e.message}`); process.exit(1); });
