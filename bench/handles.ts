/**
 * Cost of the native handle lookups (wrapper of an MSFilter / MSTicker) as
 * the number of live graphs grows: N graphs of `MSVoidSource -> MSVolume ->
 * MSVoidSink` are attached to one ticker, then closed. Attach, detach and
 * close look up the wrapper of every filter they touch; with a scan of every
 * live wrapper that was O(N) each, so closing N calls took O(N^2). Prints
 * microseconds per graph for each N and the ratio to the smallest N (about
 * 1 when lookups are O(1), about N/N0 when they scan).
 *
 *   node dist/bench/handles.js [500,2000,8000]
 */
import { Factory, Graph, Ticker } from '../lib';

function usPerGraph(factory: Factory, n: number): { attach: number; close: number } {
  const ticker = new Ticker({ name: 'bench-handles' });
  const graphs: Graph[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const g = new Graph();
    const src = g.add(factory.createFilter('MSVoidSource'));
    src.link(g.add(factory.createFilter('MSVolume'))).link(g.add(factory.createFilter('MSVoidSink')));
    g.attach(ticker, [src]);
    graphs.push(g);
  }
  const t1 = process.hrtime.bigint();
  for (const g of graphs) g.close();
  const t2 = process.hrtime.bigint();
  ticker.close();
  return { attach: Number(t1 - t0) / 1e3 / n, close: Number(t2 - t1) / 1e3 / n };
}

function main(): void {
  const sizes = (process.argv[2] ?? '500,2000,8000').split(',').map(Number);
  const factory = new Factory();
  usPerGraph(factory, 200); // warm-up
  let base: { attach: number; close: number } | undefined;
  console.log('graphs  attach us/graph  close us/graph  (ratio to the first size)');
  for (const n of sizes) {
    const r = usPerGraph(factory, n);
    base ??= r;
    console.log(
      `${String(n).padEnd(7)} ${r.attach.toFixed(1).padEnd(16)} ${r.close.toFixed(1).padEnd(15)} ` +
        `(${(r.attach / base.attach).toFixed(2)} / ${(r.close / base.close).toFixed(2)})`,
    );
  }
  factory.close();
}

main();
