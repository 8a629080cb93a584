// The AssemblyScript guest of the Vitest example, compiled by the `assemblyscript` npm compiler in
// the test set-up (guest.test.ts). Its imports: env.log (below) and env.abort (assert's failure path).

@external('env', 'log')
declare function log(value: i32): void;

export function add(a: i32, b: i32): i32 {
  return a + b;
}

export function checkedDivide(a: i32, b: i32): i32 {
  assert(b != 0, 'division by zero');
  return a / b;
}

export function greeting(): string {
  return 'hello from AssemblyScript';
}

export function fib(n: i32): i32 {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function countdown(n: i32): void {
  for (let i = n; i > 0; i--) log(i);
}
