// node bench/closure-pretenure.mjs: V8's pretenuring of a function literal assigned straight to a property, and
// what it does to the young generation. Each case makes objects like a driver's query: a few young objects and a
// closure over `this` kept in a property. In code that V8 has not optimised (the interpreter and the baseline tier:
// here forced with --no-opt, in a service wherever a function's optimisation keeps being abandoned), the parser's
// "assigned to a property, so long-lived" mark makes that closure in the old generation. Once dead, its slot still
// points at the young context, which holds `this` and everything it reaches, through every scavenge until the next
// full collection: the call's objects are promoted. A closure first held in a constant is made young. Cases: `property`
// (`this.f = () => …`), `logical` (`this.f ??= () => …`), `constant` (`const f = () => …; this.f = f`), `field`
// (a class field). Prints, per case and tier, the share of the bytes allocated that scavenges promoted.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { youngGeneration } from './lib.mjs';

const cases = {
  property: class {
    constructor(i) {
      this.rows = [
        { i, s: `x${i}` },
        { i, s: `y${i}` },
      ];
      this.f = () => this.rows;
    }
  },
  logical: class {
    constructor(i) {
      this.rows = [
        { i, s: `x${i}` },
        { i, s: `y${i}` },
      ];
      this.f ??= () => this.rows;
    }
  },
  constant: class {
    constructor(i) {
      this.rows = [
        { i, s: `x${i}` },
        { i, s: `y${i}` },
      ];
      const f = () => this.rows;
      this.f = f;
    }
  },
  field: class {
    f = () => this.rows;
    constructor(i) {
      this.rows = [
        { i, s: `x${i}` },
        { i, s: `y${i}` },
      ];
    }
  },
};

const [name] = process.argv.slice(2);
if (name) {
  // One child: make objects of one case for 2 s after a warm-up, between MEASURE and END.
  const Made = cases[name];
  let sink = 0;
  const run = (ms) => {
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) for (let j = 0; j < 1000; j++) sink += new Made(n++).rows.length;
    return n;
  };
  run(300);
  console.log('MEASURE');
  run(2000);
  console.log('END');
  if (sink < 0) console.log(sink);
} else {
  console.log(`Promoted share of the young generation's allocation, Node ${process.version}:\n`);
  console.log('| case | not optimised (--no-opt) | optimised |');
  console.log('|---|---:|---:|');
  for (const c of Object.keys(cases)) {
    const share = (flags) => {
      const child = spawnSync(process.execPath, [...flags, '--trace-gc-nvp', fileURLToPath(import.meta.url), c], {
        encoding: 'utf8',
      });
      return `${youngGeneration(child.stdout).promotedPct.toFixed(1)} %`;
    };
    console.log(`| ${c} | ${share(['--no-opt'])} | ${share([])} |`);
  }
}
