'use strict'
// Every error path: bad input rejects with a clear message and code InvalidArgument (or
// UnknownPayloadType); engine failures reject with their stable kind; a panic becomes an Error
// with code Internal. No call ever throws synchronously: they all return rejected promises.
const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const nats = require('nats')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge, NATSBridgeError, ErrorCode } = NATSBridge
const getServers = h.servers()
let S
let bridge

before(async () => {
  S = await getServers()
  bridge = await Bridge.connect({ servers: S.nats.url })
})
after(async () => {
  await bridge?.close()
  await h.stopAll()
})

/** Asserts that `promise` rejects with a NATSBridgeError of `code` whose message matches. */
async function rejects(promise, code, message) {
  assert.ok(promise instanceof Promise, 'returns a promise, never throws synchronously')
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof NATSBridgeError, `a NATSBridgeError, got ${e && e.stack}`)
    assert.ok(e instanceof Error)
    assert.equal(e.name, 'NATSBridgeError')
    assert.equal(e.code, code, e.message)
    assert.equal(e.errno, ErrorCode[code])
    if (message) assert.match(e.message, message)
    return true
  })
}

const send = (data, opts) => NATSBridge.smartsend('errors.test', data, { is_publish: false, ...opts })

test('ErrorCode: the 21 stable kinds and their numbers', () => {
  const names = Object.keys(ErrorCode).filter((k) => Number.isNaN(Number(k)))
  assert.deepStrictEqual(names, [
    'InvalidEnvelope',
    'UnknownPayloadType',
    'BadEncoding',
    'SizeMismatch',
    'DigestMismatch',
    'EnvelopeTooLarge',
    'UploadFailed',
    'DownloadFailed',
    'PayloadNotFound',
    'OriginNotAllowed',
    'PayloadTooLarge',
    'Connection',
    'Timeout',
    'InvalidArgument',
    'JetStream',
    'Io',
    'Closed',
    'NoResponders',
    'Handler',
    'Publish',
    'Internal',
  ])
  names.forEach((n, i) => assert.equal(ErrorCode[n], i + 1))
  assert.equal(ErrorCode[6], 'EnvelopeTooLarge')
})

describe('bad payloads', () => {
  test('data is not an array of [dataname, value, type]', async () => {
    await rejects(send('nope'), 'InvalidArgument', /data must be an array/)
    await rejects(send(undefined), 'InvalidArgument', /data must be an array/)
    await rejects(send([['a', 'b']]), 'InvalidArgument', /data\[0\] must be a \[dataname, value, type\] array/)
    await rejects(send([['a', 'b', 'text', 'extra']]), 'InvalidArgument', /data\[0\]/)
    await rejects(send([{ dataname: 'a' }]), 'InvalidArgument', /data\[0\]/)
    await rejects(send([[1, 'b', 'text']]), 'InvalidArgument', /dataname must be a string/)
    await rejects(send([['a', 'b', 7]]), 'InvalidArgument', /type must be a string/)
  })

  test('unknown type', async () => {
    await rejects(send([['a', 'b', 'spreadsheet']]), 'UnknownPayloadType', /unknown payload type "spreadsheet"/)
  })

  test('value not matching its type', async () => {
    await rejects(send([['a', 42, 'text']]), 'InvalidArgument', /a text payload must be a string/)
    await rejects(send([['a', undefined, 'dictionary']]), 'InvalidArgument', /not JSON-serializable/)
    await rejects(send([['a', () => 1, 'dictionary']]), 'InvalidArgument', /not JSON-serializable/)
    await rejects(send([['a', { n: 2n ** 60n }, 'dictionary']]), 'InvalidArgument', /BigInt/)
    const circular = {}
    circular.self = circular
    await rejects(send([['a', circular, 'dictionary']]), 'InvalidArgument', /circular/i)
    await rejects(send([['a', 'text', 'table']]), 'InvalidArgument', /a table must be an array of row objects/)
    await rejects(send([['a', [1, 2], 'table']]), 'InvalidArgument', /table row 0 must be an object/)
    await rejects(send([['a', [{ x: 1 }, { x: 'one' }], 'table']]), 'InvalidArgument', /mixes value types/)
    await rejects(send([['a', [{ x: { nested: 1 } }], 'table']]), 'InvalidArgument', /"a"/)
    await rejects(send([['a', Buffer.from('not arrow'), 'table']]), 'InvalidArgument', /Arrow IPC/)
    await rejects(send([['a', 'string', 'binary']]), 'InvalidArgument', /binary data must be a Uint8Array/)
    await rejects(send([['a', [1, 2, 3], 'image']]), 'InvalidArgument', /image data must be a Uint8Array/)
    await rejects(send([['a', null, 'audio']]), 'InvalidArgument', /audio data/)
    await rejects(send([['a', { path: '/does/not/exist' }, 'video']]), 'Io', /does\/not\/exist/)
  })

  test('BigInt values that fit a JSON number are accepted', async () => {
    const [, json] = await send([['a', { n: 5n }, 'dictionary']])
    assert.deepStrictEqual((await NATSBridge.smartreceive(json)).payloads[0][1], { n: 5 })
  })
})

describe('bad options', () => {
  test('smartsend options of the wrong type', async () => {
    await rejects(NATSBridge.smartsend('s', [], 'x'), 'InvalidArgument', /options must be an object/)
    await rejects(NATSBridge.smartsend('s', [], { size_threshold: 'big' }), 'InvalidArgument', /size_threshold must be a number/)
    await rejects(NATSBridge.smartsend('s', [], { size_threshold: -1 }), 'InvalidArgument', /non-negative/)
    await rejects(NATSBridge.smartsend('s', [], { is_publish: 'no' }), 'InvalidArgument', /is_publish must be a boolean/)
    await rejects(NATSBridge.smartsend('s', [], { correlation_id: 5 }), 'InvalidArgument', /correlation_id must be a string/)
    await rejects(NATSBridge.smartsend('s', [], { metadata: [1] }), 'InvalidArgument', /metadata must be a plain object/)
    await rejects(NATSBridge.smartsend('s', [], { nats_connection: {} }), 'InvalidArgument', /nats_connection/)
  })

  test('bad subjects', async () => {
    await rejects(NATSBridge.smartsend(5, []), 'InvalidArgument', /subject must be a string/)
    await rejects(NATSBridge.smartsend('', [], { broker_url: S.nats.url }), 'InvalidArgument', /not a valid NATS subject/)
    await rejects(bridge.smartsend('has space', []), 'InvalidArgument', /not a valid NATS subject/)
    await rejects(bridge.subscribe(''), 'InvalidArgument', /not a valid NATS subject/)
  })

  test('smartreceive inputs and options of the wrong type', async () => {
    await rejects(NATSBridge.smartreceive(42), 'InvalidArgument', /smartreceive needs a NATS message/)
    await rejects(NATSBridge.smartreceive({ data: 5 }), 'InvalidArgument', /smartreceive needs/)
    await rejects(NATSBridge.smartreceive('{}', { table_format: 'csv' }), 'InvalidArgument', /table_format/)
    await rejects(NATSBridge.smartreceive('{}', { max_retries: -1 }), 'InvalidArgument', /max_retries/)
    await rejects(NATSBridge.smartreceive('{}', { allowed_origins: 'x' }), 'InvalidArgument', /allowed_origins/)
    await rejects(NATSBridge.smartreceive('{}', { fileserver_download_handler: 1 }), 'InvalidArgument', /function/)
  })

  test('connect options', async () => {
    await rejects(Bridge.connect({ servers: 5 }), 'InvalidArgument', /servers/)
    await rejects(Bridge.connect({ token: 1 }), 'InvalidArgument', /token/)
    await rejects(Bridge.connect({ servers: 'not a url at all' }), 'InvalidArgument', /invalid server URL/)
    await rejects(Bridge.connect({ servers: S.nats.url, user: 'u' }), 'InvalidArgument', /user and password/)
    await rejects(Bridge.connect({ servers: S.nats.url, creds: '/no/such.creds' }), 'InvalidArgument', /credentials file/)
    assert.throws(() => new Bridge({}), { code: 'InvalidArgument' })
  })
})

describe('engine failures carry their kind', () => {
  test('undecodable envelopes: InvalidEnvelope, UnknownPayloadType, BadEncoding, SizeMismatch', async () => {
    await rejects(NATSBridge.smartreceive('not json'), 'InvalidEnvelope', /not a valid NATSBridge envelope/)
    await rejects(NATSBridge.smartreceive(Buffer.from([0xff, 0xfe])), 'InvalidEnvelope')
    const p = (over) => JSON.stringify({ payloads: [{ dataname: 'a', payload_type: 'text', transport: 'direct', size: 2, data: 'aGk=', ...over }] })
    await rejects(NATSBridge.smartreceive(p({ payload_type: 'spreadsheet' })), 'UnknownPayloadType')
    await rejects(NATSBridge.smartreceive(p({ data: 'a*k=' })), 'BadEncoding')
    await rejects(NATSBridge.smartreceive(p({ size: 3 })), 'SizeMismatch')
    await rejects(NATSBridge.smartreceive(p({ transport: 'pigeon' })), 'InvalidEnvelope')
  })

  test('EnvelopeTooLarge: header and metadata alone exceed max_payload', async () => {
    await rejects(
      send([['a', 'b', 'text']], { metadata: { blob: 'x'.repeat(2_000_000) } }),
      'EnvelopeTooLarge',
      /max_payload/,
    )
    await rejects(send([['a', 'b', 'text']], { max_payload: 100 }), 'EnvelopeTooLarge')
  })

  test('UploadFailed: no file server for a link payload; nothing is published', async () => {
    const port = await h.freePort()
    const subj = h.subject('nopublish')
    const sub = await bridge.subscribe(subj)
    await rejects(
      bridge.smartsend(subj, [['big', h.bytes(1_100_000), 'binary']], { fileserver_url: `http://127.0.0.1:${port}` }),
      'UploadFailed',
      /cannot reach the file server/,
    )
    const nothing = await Promise.race([sub.next(), new Promise((r) => setTimeout(() => r('none'), 200))])
    assert.equal(nothing, 'none')
    await sub.unsubscribe()
  })

  test('link payload errors: OriginNotAllowed, PayloadTooLarge, DownloadFailed, PayloadNotFound', async () => {
    const [, json] = await send([['b', h.bytes(5000), 'binary']], { size_threshold: 1, fileserver_url: S.files.url })
    await rejects(NATSBridge.smartreceive(json, { allowed_origins: ['http://127.0.0.1:1'] }), 'OriginNotAllowed')
    await rejects(NATSBridge.smartreceive(json, { max_in_memory: 100 }), 'PayloadTooLarge')
    const url = JSON.parse(json).payloads[0].data
    const port = await h.freePort()
    const elsewhere = json.replace(S.files.url, `http://127.0.0.1:${port}`)
    await rejects(NATSBridge.smartreceive(elsewhere, { max_retries: 2, base_delay: 1, max_delay: 5 }), 'DownloadFailed')
    await NATSBridge.smartreceive(json) // fetched once: the one-shot file is gone now
    await rejects(NATSBridge.smartreceive(json), 'PayloadNotFound', new RegExp(url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  })

  test('Connection: no server', async () => {
    const port = await h.freePort()
    await rejects(Bridge.connect({ servers: `nats://127.0.0.1:${port}`, connect_timeout: 500 }), 'Connection')
    await rejects(
      NATSBridge.smartsend('x', [['a', 'b', 'text']], { broker_url: `nats://127.0.0.1:${port}` }),
      'Connection',
    )
  })

  test('Closed: using a closed Bridge', async () => {
    const b = await Bridge.connect(S.nats.url)
    await b.close()
    assert.equal(b.closed, true)
    await rejects(b.smartsend('x', [['a', 'b', 'text']]), 'Closed')
    await rejects(b.subscribe('x'), 'Closed')
    await rejects(b.smartrequest('x', []), 'Closed')
  })

  test('Publish: the nats.js connection refuses the message', async () => {
    const nc = await nats.connect({ servers: S.nats.url })
    await nc.close()
    await rejects(NATSBridge.smartsend('x', [['a', 'b', 'text']], { nats_connection: nc }), 'Publish', /nats\.js/)
  })

  test('JetStream: no such stream; publish where no stream listens', async () => {
    await rejects(bridge.jetstreamConsumer('NO_SUCH_STREAM', 'd'), 'JetStream', /NO_SUCH_STREAM/)
    await rejects(bridge.jetstreamPublish(h.subject('nostream'), [['a', 'b', 'text']]), 'JetStream')
    await rejects(bridge.jetstreamConsumer('S', 'd', { ack_mode: 'sometimes' }), 'InvalidArgument', /ack_mode/)
  })

  test('reply needs a reply_to', async () => {
    await rejects(bridge.reply({ reply_to: '' }, [['a', 'b', 'text']]), 'InvalidArgument', /no reply_to/)
    await rejects(bridge.reply(null, []), 'InvalidArgument')
  })

  test('a panic in the engine becomes an Error with code Internal; the process goes on', () => {
    const script = `
      const N = require('natsbridge')
      const native = N.__native
      const { fromNative } = require(require.resolve('natsbridge').replace(/index\\.js$/, 'lib/errors.js'))
      let sync
      try { native.__panicForTests() } catch (e) { sync = fromNative(e) }
      native.__panicForTestsAsync().catch((e) => {
        const err = fromNative(e)
        console.log(JSON.stringify([sync.code, sync.errno, sync instanceof Error, err.code, err.message]))
      })
    `
    const r = spawnSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', timeout: 20000 })
    assert.equal(r.status, 0, r.stderr)
    const [syncCode, errno, isError, asyncCode, message] = JSON.parse(r.stdout)
    assert.equal(syncCode, 'Internal')
    assert.equal(errno, 21)
    assert.equal(isError, true)
    assert.equal(asyncCode, 'Internal')
    assert.match(message, /panic: test panic \(async\)/)
  })
})
