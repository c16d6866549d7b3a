'use strict'
// The package as installed from `npm pack`: CommonJS and ESM entries, the files it ships, and
// index.d.ts in step with both the code (it declares every runtime export) and a fresh napi-rs
// generation (no drift from the checked-in file).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const NATSBridge = require('natsbridge')

const entry = fs.realpathSync(require.resolve('natsbridge'))
const PKG = path.dirname(entry)
const dts = fs.readFileSync(path.join(PKG, 'index.d.ts'), 'utf8')

test('the tests run against the package installed from its tarball, not the source tree', {
  skip: process.env.NATSBRIDGE_EXPECT_INSTALLED ? false : 'set by scripts/test-node.sh',
}, () => {
  assert.match(PKG, /node_modules[\\/]natsbridge$/)
  assert.equal(fs.realpathSync(PKG), PKG, 'a real folder, not a link to the source')
  const shipped = fs.readdirSync(PKG).sort()
  for (const f of ['README.md', 'examples', 'index.d.ts', 'index.js', 'index.mjs', 'lib', 'native.js', 'package.json']) {
    assert.ok(shipped.includes(f), `ships ${f}`)
  }
  assert.ok(shipped.some((f) => /^natsbridge\..+\.node$/.test(f)), 'ships the addon')
  for (const f of ['src', 'tests', 'Cargo.toml', 'node_modules', 'scripts']) assert.ok(!shipped.includes(f), `does not ship ${f}`)
})

test('index.d.ts has not drifted from a fresh napi-rs generation', {
  skip: process.env.NATSBRIDGE_FRESH_DTS ? false : 'set by scripts/test-node.sh',
}, () => {
  const fresh = fs.readFileSync(process.env.NATSBRIDGE_FRESH_DTS, 'utf8')
  assert.ok(fresh === dts, 'node/index.d.ts differs from what `npm run build` generates now: rebuild and commit it')
})

test('require and import expose the same API, and index.d.ts declares all of it', async () => {
  const esm = await import('natsbridge')
  const names = Object.keys(NATSBridge).sort()
  assert.deepStrictEqual(names, [
    'Bridge',
    'Delivery',
    'ErrorCode',
    'JetStreamConsumer',
    'NATSBridgeError',
    'Subscription',
    'fetchWithBackoff',
    'plikOneshotUpload',
    'smartreceive',
    'smartsend',
  ])
  for (const n of names) assert.equal(esm[n], NATSBridge[n], n)
  assert.equal(esm.default, NATSBridge)
  const declared = [...dts.matchAll(/^export declare (?:function|class|enum|const) (\w+)/gm)].map((m) => m[1])
  assert.deepStrictEqual([...new Set(declared)].sort(), names)
  for (const n of names) assert.ok(NATSBridge[n] !== undefined, n)
  assert.equal(typeof NATSBridge.smartsend, 'function')
  assert.equal(typeof NATSBridge.Bridge.connect, 'function')
})

test('package.json: name, entries, an optional apache-arrow peer', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'))
  assert.equal(pkg.name, 'natsbridge')
  assert.equal(pkg.main, 'index.js')
  assert.equal(pkg.types, 'index.d.ts')
  assert.deepStrictEqual(pkg.exports['.'], { types: './index.d.ts', import: './index.mjs', require: './index.js' })
  assert.equal(pkg.peerDependenciesMeta['apache-arrow'].optional, true)
  assert.deepStrictEqual(pkg.dependencies ?? {}, {})
})
