// The AssemblyScript guest of the example (compiled by run.ts with the `assemblyscript` compiler).
// It imports nothing by hand: `assert`, `trace` and `Math.random` make the compiler import
// env.abort, env.trace and env.seed, which wasmscope/assemblyscript provides.

/** Steps of the Collatz sequence from `n` to 1, tracing every 25th step. */
export function collatz(n: i32): i32 {
  assert(n > 0, 'collatz needs a positive start');
  let steps = 0;
  while (n != 1) {
    n = n % 2 == 0 ? n / 2 : 3 * n + 1;
    steps++;
    if (steps % 25 == 0) trace('collatz', 2, <f64>steps, <f64>n);
  }
  return steps;
}

/** A roll of a die with `sides` sides (Math.random is seeded from env.seed). */
export function roll(sides: i32): i32 {
  return <i32>Math.floor(Math.random() * sides) + 1;
}
