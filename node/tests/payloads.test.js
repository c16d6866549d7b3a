'use strict'
// Every payload type by both transports (direct, link), row and apache-arrow tables, a mixed
// envelope, nats.js messages into smartreceive and a nats.js connection into smartsend.
const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const arrow = require('apache-arrow')
const nats = require('nats')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge } = NATSBridge
const getServers = h.servers()
let S
let bridge
let nc

before(async () => {
  S = await getServers()
  bridge = await Bridge.connect({ servers: S.nats.url })
  nc = await nats.connect({ servers: S.nats.url })
})

after(async () => {
  await bridge?.close()
  await nc?.close()
  await h.stopAll()
})

/** Subscribes with the Bridge, runs `send`, resolves to the one envelope that arrives. */
async function viaBridge(subject, send, opts) {
  const sub = await bridge.subscribe(subject, opts)
  try {
    await send()
    return await sub.next()
  } finally {
    await sub.unsubscribe()
  }
}

/** Subscribes with nats.js, runs `send`, decodes the nats.js message with smartreceive. */
async function viaNatsJs(subject, send, opts) {
  const sub = nc.subscribe(subject, { max: 1 })
  await nc.flush()
  await send()
  for await (const msg of sub) return NATSBridge.smartreceive(msg, opts)
  throw new Error('subscription ended without a message')
}

const SAMPLES = {
  text: 'héllo wörld 🌍 — ünïcode, "quotes" and \\ backslashes',
  dictionary: { wifi_ssid: 'MyNetwork', update_interval: 60, nested: { list: [1, 2.5, 'x', null, true] }, ü: 'ß' },
  image: h.bytes(20_000, 7),
  audio: h.bytes(3_000, 8),
  video: h.bytes(50_000, 9),
  binary: Buffer.from([...Array(256).keys()]),
}

const ROWS = [
  { id: 1, name: 'Alice', score: 95.5, passed: true },
  { id: 2, name: null, score: 88, passed: false },
  { id: 3, name: 'Charlie', score: null, passed: null },
]

function assertValue(type, got, want) {
  if (['image', 'audio', 'video', 'binary'].includes(type)) {
    assert.ok(Buffer.isBuffer(got), `${type} arrives as a Buffer`)
    assert.ok(got.equals(Buffer.from(want)), `${type} bytes equal`)
  } else {
    assert.deepStrictEqual(got, want)
  }
}

for (const [transport, threshold] of [
  ['direct', undefined],
  ['link', 1],
]) {
  describe(`every payload type by ${transport}`, () => {
    for (const [type, value] of Object.entries(SAMPLES)) {
      test(`${type} (module smartsend, Bridge receive)`, async () => {
        const subj = h.subject(type)
        const env = await viaBridge(subj, () =>
          NATSBridge.smartsend(subj, [[`my_${type}`, value, type]], {
            broker_url: S.nats.url,
            fileserver_url: S.files.url,
            size_threshold: threshold,
          }),
        )
        assert.equal(env.send_to, subj)
        assert.equal(env.payloads.length, 1)
        const [dataname, data, t] = env.payloads[0]
        assert.equal(dataname, `my_${type}`)
        assert.equal(t, type)
        assert.equal(env.payloads[0].transport, transport)
        assertValue(type, data, value)
      })

      test(`${type} (Bridge smartsend, nats.js receive + smartreceive)`, async () => {
        const subj = h.subject(type)
        const env = await viaNatsJs(subj, () =>
          bridge.smartsend(subj, [[type, value, type]], { fileserver_url: S.files.url, size_threshold: threshold }),
        )
        const [dataname, data, t] = env.payloads[0]
        assert.equal(dataname, type)
        assert.equal(t, type)
        assert.equal(env.payloads[0].transport, transport)
        assertValue(type, data, value)
      })
    }

    test('table of rows: types and nulls', async () => {
      const subj = h.subject('rows')
      const send = () => bridge.smartsend(subj, [['students', ROWS, 'table']], { fileserver_url: S.files.url, size_threshold: threshold })
      const env = await viaBridge(subj, send)
      const [name, rows, type] = env.payloads[0]
      assert.equal(name, 'students')
      assert.equal(type, 'table')
      assert.equal(env.payloads[0].transport, transport)
      assert.deepStrictEqual(rows, ROWS)
      // The same envelope as an apache-arrow Table: int64, utf8, float64, bool, nulls kept.
      const asArrow = await viaBridge(subj, send, { table_format: 'arrow' })
      const table = asArrow.payloads[0][1]
      assert.ok(table instanceof arrow.Table)
      assert.deepStrictEqual(
        table.schema.fields.map((f) => [f.name, String(f.type)]),
        [
          ['id', 'Int64'],
          ['name', 'Utf8'],
          ['score', 'Float64'],
          ['passed', 'Bool'],
        ],
      )
      assert.equal(table.numRows, 3)
      assert.deepStrictEqual(table.getChild('id').toArray(), new BigInt64Array([1n, 2n, 3n]))
      assert.equal(table.getChild('name').get(1), null)
      assert.equal(table.getChild('score').get(2), null)
      assert.equal(table.getChild('passed').get(0), true)
      // And as the raw Arrow IPC stream.
      const asIpc = await viaBridge(subj, send, { table_format: 'ipc' })
      assert.ok(Buffer.isBuffer(asIpc.payloads[0][1]))
      assert.equal(arrow.tableFromIPC(asIpc.payloads[0][1]).numRows, 3)
    })

    test('apache-arrow Table: types and nulls, rows or Table back', async () => {
      const table = new arrow.Table({
        i32: arrow.vectorFromArray([1, null, 3], new arrow.Int32()),
        i64: arrow.vectorFromArray([1n, 2n ** 40n, null], new arrow.Int64()),
        f64: arrow.vectorFromArray([1.5, null, -2.25], new arrow.Float64()),
        s: arrow.vectorFromArray(['a', null, 'ccc'], new arrow.Utf8()),
        dict: arrow.vectorFromArray(['x', 'y', null]),
        b: arrow.vectorFromArray([true, false, null], new arrow.Bool()),
      })
      const subj = h.subject('arrow')
      const send = () => NATSBridge.smartsend(subj, [['t', table, 'table']], {
        broker_url: S.nats.url,
        fileserver_url: S.files.url,
        size_threshold: threshold,
      })
      const got = (await viaNatsJs(subj, send, { table_format: 'arrow' })).payloads[0]
      assert.equal(got.transport, transport)
      const back = got[1]
      assert.ok(back instanceof arrow.Table)
      assert.deepStrictEqual(
        back.schema.fields.map((f) => String(f.type)),
        table.schema.fields.map((f) => String(f.type)),
      )
      assert.deepStrictEqual(back.toArray().map((r) => r.toJSON()), table.toArray().map((r) => r.toJSON()))
      const rows = (await viaBridge(subj, send)).payloads[0][1]
      assert.deepStrictEqual(rows, [
        { i32: 1, i64: 1, f64: 1.5, s: 'a', dict: 'x', b: true },
        { i32: null, i64: 2 ** 40, f64: null, s: null, dict: 'y', b: false },
        { i32: 3, i64: null, f64: -2.25, s: 'ccc', dict: null, b: null },
      ])
    })

    test('table given as Arrow IPC bytes, and empty tables', async () => {
      const ipc = arrow.tableToIPC(arrow.tableFromArrays({ n: Float64Array.from([1, 2]) }), 'stream')
      const subj = h.subject('ipc')
      const env = await viaBridge(subj, () =>
        bridge.smartsend(
          subj,
          [
            ['ipc', ipc, 'table'],
            ['empty', [], 'table'],
          ],
          { fileserver_url: S.files.url, size_threshold: threshold },
        ),
      )
      assert.deepStrictEqual(env.payloads[0][1], [{ n: 1 }, { n: 2 }])
      assert.deepStrictEqual(env.payloads[1][1], [])
    })
  })
}

test('a mixed envelope: every type, order kept, the large one by link', async () => {
  const big = h.bytes(1_500_000, 3)
  const data = [
    ['message_text', 'Hello!', 'text'],
    ['config', SAMPLES.dictionary, 'dictionary'],
    ['students', ROWS, 'table'],
    ['user_avatar', SAMPLES.image, 'image'],
    ['voice', SAMPLES.audio, 'audio'],
    ['clip', SAMPLES.video, 'video'],
    ['large_document', big, 'binary'],
    ['list', [1, 'two', { three: 3 }], 'dictionary'],
  ]
  const subj = h.subject('mixed')
  let sent
  const env = await viaBridge(subj, async () => {
    sent = await NATSBridge.smartsend(subj, data, {
      broker_url: S.nats.url,
      fileserver_url: S.files.url,
      msg_purpose: 'updateStatus',
      sender_name: 'node-test',
      receiver_name: 'bridge',
      metadata: { trace: 'abc', n: 1 },
    })
  })
  const [sentEnv, json] = sent
  assert.equal(typeof json, 'string')
  assert.deepStrictEqual(JSON.parse(json).payloads, sentEnv.payloads)
  assert.deepStrictEqual(
    sentEnv.payloads.map((p) => [p.dataname, p.payload_type, p.transport, p.encoding]),
    data.map(([n, , t]) => [n, t, n === 'large_document' ? 'link' : 'direct', n === 'large_document' ? 'none' : 'base64']),
  )
  assert.match(sentEnv.payloads[6].sha256, /^[0-9a-f]{64}$/)
  assert.equal(env.msg_id, sentEnv.msg_id)
  assert.equal(env.correlation_id, sentEnv.correlation_id)
  assert.equal(env.msg_purpose, 'updateStatus')
  assert.equal(env.sender_name, 'node-test')
  assert.equal(env.receiver_name, 'bridge')
  assert.deepStrictEqual(env.metadata, { trace: 'abc', n: 1 })
  assert.match(env.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  assert.deepStrictEqual(
    env.payloads.map(([n, , t]) => [n, t]),
    data.map(([n, , t]) => [n, t]),
  )
  for (let i = 0; i < data.length; i++) assertValue(data[i][2], env.payloads[i][1], data[i][1])
  assert.equal(env.payloads[6].transport, 'link')
  assert.equal(env.payloads[6].size, big.length)
})

test('the envelope always fits max_payload: a 900 kB payload under the threshold goes by link', async () => {
  const subj = h.subject('fit')
  const payload = h.bytes(900_000, 5)
  const env = await viaBridge(subj, () =>
    bridge.smartsend(subj, [['almost', payload, 'binary']], { fileserver_url: S.files.url }),
  )
  assert.equal(env.payloads[0].transport, 'link')
  assert.ok(env.payloads[0][1].equals(payload))
  assert.ok(bridge.maxPayload >= 1024 * 1024)
})

test('a file path as a payload ({ path }) is streamed', async () => {
  const dir = h.tmpdir()
  const file = require('node:path').join(dir, 'big.bin')
  const content = h.bytes(1_200_000, 11)
  require('node:fs').writeFileSync(file, content)
  const subj = h.subject('file')
  const save = h.tmpdir()
  const env = await viaBridge(
    subj,
    () => bridge.smartsend(subj, [['f', { path: file }, 'binary']], { fileserver_url: S.files.url }),
    { save_dir: save },
  )
  assert.equal(env.payloads[0].transport, 'link')
  const got = env.payloads[0][1]
  assert.equal(typeof got.path, 'string')
  assert.ok(got.path.startsWith(save))
  assert.ok(require('node:fs').readFileSync(got.path).equals(content))
})

describe('nats.js interop', () => {
  test('a nats.js connection into smartsend; the envelope fits its max_payload', async () => {
    const subj = h.subject('njs')
    const big = h.bytes(1_100_000, 2)
    const env = await viaBridge(subj, () =>
      NATSBridge.smartsend(
        subj,
        [
          ['hello', 'from nats.js', 'text'],
          ['big', big, 'binary'],
        ],
        { nats_connection: nc, fileserver_url: S.files.url },
      ),
    )
    assert.equal(env.payloads[0][1], 'from nats.js')
    assert.equal(env.payloads[1].transport, 'link')
    assert.ok(env.payloads[1][1].equals(big))
    assert.equal(env.broker_url, `nats://127.0.0.1:${S.nats.port}`)
  })

  test('is_publish false with a nats.js connection publishes nothing', async () => {
    const subj = h.subject('nopub')
    const sub = nc.subscribe(subj)
    await nc.flush()
    const [env, json] = await NATSBridge.smartsend(subj, [['x', 'y', 'text']], { nats_connection: nc, is_publish: false })
    assert.equal(env.payloads[0].data, Buffer.from('y').toString('base64'))
    await nc.flush()
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(sub.getProcessed(), 0)
    sub.unsubscribe()
    assert.equal((await NATSBridge.smartreceive(json)).payloads[0][1], 'y')
  })

  test('a Bridge as nats_connection', async () => {
    const subj = h.subject('bridgeconn')
    const env = await viaNatsJs(subj, () => NATSBridge.smartsend(subj, [['a', 'b', 'text']], { nats_connection: bridge }))
    assert.equal(env.payloads[0][1], 'b')
  })

  test('smartreceive takes bytes, Uint8Array, ArrayBuffer, strings, raw messages and decoded envelopes', async () => {
    const [, json] = await NATSBridge.smartsend('x.y', [['t', 'text value', 'text']], { is_publish: false })
    const u8 = new TextEncoder().encode(json)
    for (const input of [json, Buffer.from(json), u8, u8.buffer, { data: u8 }]) {
      const env = await NATSBridge.smartreceive(input)
      assert.equal(env.payloads[0][1], 'text value')
    }
    const subj = h.subject('raw')
    const sub = await bridge.subscribe(subj)
    await bridge.smartsend(subj, [['t', 'raw', 'text']])
    const raw = await sub.nextMessage()
    assert.equal(raw.subject, subj)
    assert.ok(Buffer.isBuffer(raw.data))
    const decoded = await NATSBridge.smartreceive(raw)
    assert.equal(decoded.payloads[0][1], 'raw')
    assert.equal(await NATSBridge.smartreceive(decoded), decoded)
    await sub.unsubscribe()
  })

  test('a decoded envelope is the wire envelope, whether or not a field holds a NUL', async () => {
    // Without a NUL the addon hands the envelope to JS in its compact form, with one in its JSON
    // form: the two must read the same.
    for (const text of ['plain', 'with \u0000 a NUL']) {
      const data = [
        ['t', text, 'text'],
        ['d', { a: [1, 'x\u0000y'], b: null }, 'dictionary'],
        ['b', Buffer.from([1, 2, 3]), 'binary'],
      ]
      const [sent, json] = await NATSBridge.smartsend('x.nul', data, { is_publish: false, sender_name: text, metadata: { k: text } })
      const wire = JSON.parse(json)
      assert.deepStrictEqual(sent, wire)
      const env = await NATSBridge.smartreceive(json)
      assert.deepStrictEqual(Object.keys(env), Object.keys(wire))
      for (const k of Object.keys(wire)) if (k !== 'payloads') assert.deepStrictEqual(env[k], wire[k], k)
      assert.deepStrictEqual(
        env.payloads.map((p) => [p[0], p[2], p.id, p.transport, p.size]),
        wire.payloads.map((p) => [p.dataname, p.payload_type, p.id, p.transport, p.size]),
      )
      assert.equal(env.payloads[0][1], text)
      assert.deepStrictEqual(env.payloads[1][1], { a: [1, 'x\u0000y'], b: null })
      assert.deepStrictEqual(env.payloads[2][1], Buffer.from([1, 2, 3]))
      assert.equal(await NATSBridge.smartreceive(env), env)
    }
  })
})

test('the ESM entry exports the same API', async () => {
  const esm = await import('natsbridge')
  assert.equal(esm.default, NATSBridge)
  assert.equal(esm.smartsend, NATSBridge.smartsend)
  assert.equal(esm.Bridge, NATSBridge.Bridge)
})
