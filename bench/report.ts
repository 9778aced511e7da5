/**
 * Prints the bench table from saved results, merging several files (e.g.
 * repeated runs, or a run per pair):  node dist/bench/report.js FILE...
 */
import * as fs from 'node:fs';
import { printReport, type Results } from './lib/report';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node dist/bench/report.js RESULTS.json...');
  process.exit(2);
}
const all = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as Results);
const merged: Results = {
  ...all[0],
  capacity: all.flatMap((r) => r.capacity),
  rss: all.flatMap((r) => r.rss),
  steps: all.flatMap((r) => r.steps),
};
printReport(merged);
