'use strict'
// The golden vectors in tests/vectors: every valid one decodes to its expected values (tables
// both as rows and as apache-arrow Tables), every invalid one fails with its expected kind; then
// each valid one is re-sent and decodes to the same values again.
const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const arrow = require('apache-arrow')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const index = JSON.parse(fs.readFileSync(path.join(h.VECTORS, 'index.json'), 'utf8'))
let files

before(async () => {
  files = await h.startFileServer(path.join(h.VECTORS, 'files'), [])
})
after(h.stopAll)

function raw(dir, name) {
  const bytes = fs.readFileSync(path.join(h.VECTORS, dir, name))
  const marker = Buffer.from('{{FILESERVER}}')
  const parts = []
  let at = 0
  for (let i = bytes.indexOf(marker); i >= 0; i = bytes.indexOf(marker, at)) {
    parts.push(bytes.subarray(at, i), Buffer.from(files.url))
    at = i + marker.length
  }
  parts.push(bytes.subarray(at))
  return Buffer.concat(parts)
}

const ARROW_TYPES = { Int64: 'int64', Float64: 'float64', Utf8: 'utf8', Bool: 'bool' }
const plain = (v) => (typeof v === 'bigint' ? Number(v) : v)

function tableValue(t) {
  const columns = t.schema.fields.map((f) => [f.name, ARROW_TYPES[String(f.type)] ?? String(f.type)])
  const rows = []
  for (let i = 0; i < t.numRows; i++) rows.push(t.schema.fields.map((f) => plain(t.getChild(f.name).get(i))))
  return { table: { columns, rows } }
}

/** A decoded envelope in the shape of `valid/NAME.expected.json`. */
function expectedShape(env) {
  const { payloads, ...header } = env
  return {
    header,
    payloads: payloads.map((p) => {
      const [dataname, data, type] = p
      let value
      if (type === 'text') value = { text: data }
      else if (type === 'dictionary') value = { json: data }
      else if (type === 'table') value = tableValue(data)
      else value = { base64: data.toString('base64') }
      const out = { dataname, payload_type: type, transport: p.transport, size: p.size, value }
      if (p.metadata !== undefined) out.metadata = p.metadata
      return out
    }),
  }
}

function rowsOf(expectedTable) {
  const { columns, rows } = expectedTable
  return rows.map((r) => Object.fromEntries(columns.map(([name], i) => [name, r[i]])))
}

describe('valid vectors decode to their expected values', () => {
  for (const name of index.valid) {
    test(name, async () => {
      const expected = JSON.parse(fs.readFileSync(path.join(h.VECTORS, 'valid', `${name}.expected.json`), 'utf8'))
      const bytes = raw('valid', `${name}.json`)
      const asArrow = await NATSBridge.smartreceive(bytes, { table_format: 'arrow' })
      assert.deepStrictEqual(expectedShape(asArrow), expected)
      // Tables as the seed's rows, by default.
      const asRows = await NATSBridge.smartreceive(bytes)
      expected.payloads.forEach((p, i) => {
        if (p.payload_type === 'table') assert.deepStrictEqual(asRows.payloads[i][1], rowsOf(p.value.table))
      })
    })
  }
})

describe('invalid vectors fail with their expected kind', () => {
  for (const name of index.invalid) {
    test(name, async () => {
      const { error } = JSON.parse(fs.readFileSync(path.join(h.VECTORS, 'invalid', `${name}.expected.json`), 'utf8'))
      const bytes = raw('invalid', `${name}.bin`)
      await assert.rejects(NATSBridge.smartreceive(bytes, { max_retries: 1 }), (e) => {
        assert.ok(e instanceof NATSBridge.NATSBridgeError, `a NATSBridgeError, got ${e}`)
        assert.equal(e.code, error, `${name}: ${e.message}`)
        assert.equal(e.errno, NATSBridge.ErrorCode[error])
        return true
      })
    })
  }
})

test('valid vectors round-trip: decode, re-send (direct and link), decode to the same values', async () => {
  const store = await h.startFileServer()
  for (const name of index.valid) {
    const expected = JSON.parse(fs.readFileSync(path.join(h.VECTORS, 'valid', `${name}.expected.json`), 'utf8'))
    const env = await NATSBridge.smartreceive(raw('valid', `${name}.json`), { table_format: 'arrow' })
    const data = env.payloads.map(([n, v, t]) => [n, v, t])
    for (const threshold of [undefined, 0]) {
      const [, json] = await NATSBridge.smartsend('vectors.roundtrip', data, {
        is_publish: false,
        fileserver_url: store.url,
        size_threshold: threshold,
      })
      const back = expectedShape(await NATSBridge.smartreceive(json, { table_format: 'arrow' }))
      assert.deepStrictEqual(
        back.payloads.map((p) => [p.dataname, p.payload_type, p.value]),
        expected.payloads.map((p) => [p.dataname, p.payload_type, p.value]),
        name,
      )
    }
  }
})
