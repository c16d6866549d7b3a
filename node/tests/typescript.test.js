'use strict'
// The shipped index.d.ts: a TypeScript file using the whole public API compiles with
// `tsc --noEmit --strict` against the installed package, and common mistakes do not.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

let tsc
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  tsc = null
}
const skip = tsc ? false : 'typescript is not installed next to the tests'
const dir = path.join(__dirname, 'typescript')

function compile(args) {
  return spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8', timeout: 120000 })
}

test('a program using the whole public API compiles with tsc --noEmit --strict', { skip }, () => {
  const r = compile(['-p', 'tsconfig.json'])
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`)
})

test('the types reject wrong payloads and options', { skip }, () => {
  const r = compile(['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', 'wrong.ts'])
  assert.notEqual(r.status, 0)
  const errors = r.stdout.split('\n').filter((l) => /^wrong\.ts\(\d+,\d+\): error/.test(l))
  assert.deepStrictEqual(
    errors.map((l) => Number(/^wrong\.ts\((\d+)/.exec(l)[1])),
    [5, 6, 7, 8, 9],
    r.stdout,
  )
})
