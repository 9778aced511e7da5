/**
 * The addon finds the wrapper of a C handle (MSFilter, MSTicker) through a
 * map kept in its per-environment state. Handles are heap addresses that
 * malloc hands out again once freed, so the map must forget a handle when
 * its wrapper closes: otherwise a new filter at a recycled address would be
 * reported as an old, closed one (links(), graph closing). Closing cost per
 * graph as the number of graphs grows: bench/handles.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Factory, Graph, Ticker, type Filter } from '../lib';

describe('native handle lookups', () => {
  it('links() and closing attached graphs find the right wrappers while handles are recycled', () => {
    const factory = new Factory();
    try {
      for (let round = 0; round < 20; round++) {
        const ticker = new Ticker({ name: `handles-${round}` });
        const graphs: { g: Graph; src: Filter<any>; vol: Filter<any>; sink: Filter<any> }[] = [];
        for (let i = 0; i < 50; i++) {
          const g = new Graph();
          const src = g.add(factory.createFilter('MSVoidSource'));
          const vol = g.add(factory.createFilter('MSVolume'));
          const sink = g.add(factory.createFilter('MSVoidSink'));
          src.link(vol).link(sink);
          g.attach(ticker, [src]);
          graphs.push({ g, src, vol, sink });
        }
        for (const { vol, src, sink } of graphs) {
          const peers = vol.links().map((l) => l.peer);
          assert.equal(peers.length, 2);
          assert.ok(peers[0] === src && peers[1] === sink, `round ${round}: links() names this graph's filters`);
        }
        if (round % 2) {
          // the ticker goes first: it detaches its graphs, finding each root's
          // wrapper by handle
          ticker.close();
          for (const { src } of graphs) assert.equal(src.attached, false, `round ${round}: detached by the ticker`);
        } else {
          for (const { g } of graphs.slice(0, 25)) g.close();
          assert.equal(ticker.stats().graphs, 25, `round ${round}: half the graphs left the ticker`);
        }
        for (const { g } of graphs) g.close();
        if (!ticker.closed) assert.equal(ticker.stats().graphs, 0, `round ${round}: every graph left the ticker`);
        ticker.close();
      }
    } finally {
      factory.close();
    }
  });
});
