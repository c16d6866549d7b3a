'use strict'
// JetStream: publish with de-duplication by msg_id, durable consumers that ack (auto or manual),
// nak and redeliver when a claim-check fetch fails, and terminate what can never decode.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const nats = require('nats')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge } = NATSBridge
const getServers = h.servers()
let S
let bridge

before(async () => {
  S = await getServers()
  bridge = await Bridge.connect({ servers: S.nats.url })
  await bridge.ensureStream('NODETEST', ['jsnode.>'])
  await bridge.ensureStream('NODETEST', 'jsnode.>') // exists already: fine
})
after(async () => {
  await bridge?.close()
  await h.stopAll()
})

test('publish with an ack; the same msg_id is stored once', async () => {
  const [env, json, ack] = await bridge.jetstreamPublish('jsnode.dedupe', [['t', 'once', 'text']], { msg_id: 'fixed-id-1' })
  assert.equal(env.msg_id, 'fixed-id-1')
  assert.equal(JSON.parse(json).msg_id, 'fixed-id-1')
  assert.deepStrictEqual(Object.keys(ack).sort(), ['duplicate', 'sequence', 'stream'])
  assert.equal(ack.stream, 'NODETEST')
  assert.equal(ack.duplicate, false)
  const [, , again] = await bridge.jetstreamPublish('jsnode.dedupe', [['t', 'once', 'text']], { msg_id: 'fixed-id-1' })
  assert.equal(again.duplicate, true)
  assert.equal(again.sequence, ack.sequence)
})

test('a durable consumer with automatic acks', async () => {
  const big = h.bytes(1_200_000, 21)
  await bridge.jetstreamPublish('jsnode.auto', [
    ['n', '1', 'text'],
    ['big', big, 'binary'],
  ], { fileserver_url: S.files.url })
  await bridge.jetstreamPublish('jsnode.auto', [['n', '2', 'text']])
  const consumer = await bridge.jetstreamConsumer('NODETEST', 'auto', { filter_subject: 'jsnode.auto' })
  const got = []
  for await (const d of consumer) {
    assert.equal(d.delivered, 1)
    got.push(d.envelope.payloads[0][1])
    if (got.length === 1) assert.ok(d.envelope.payloads[1][1].equals(big))
    if (got.length === 2) break
  }
  assert.deepStrictEqual(got, ['1', '2'])
  assert.equal(await consumer.next(100), null) // stopped
  // Durable: a new consumer with the same name starts after what was acked.
  await bridge.jetstreamPublish('jsnode.auto', [['n', '3', 'text']])
  const again = await bridge.jetstreamConsumer('NODETEST', 'auto', { filter_subject: 'jsnode.auto' })
  const d = await again.next(5000)
  assert.equal(d.envelope.payloads[0][1], '3')
  assert.equal(await again.next(300), null)
  again.stop()
})

test('manual acks: nak redelivers, ack settles', async () => {
  await bridge.jetstreamPublish('jsnode.manual', [['job', { id: 7 }, 'dictionary']])
  const consumer = await bridge.jetstreamConsumer('NODETEST', 'manual', {
    filter_subject: 'jsnode.manual',
    ack_mode: 'manual',
    ack_wait: 10_000,
  })
  const first = await consumer.next(5000)
  assert.deepStrictEqual(first.envelope.payloads[0][1], { id: 7 })
  assert.equal(first.delivered, 1)
  await first.nak(50)
  const second = await consumer.next(5000)
  assert.equal(second.delivered, 2)
  await second.ack()
  await second.ack() // acking twice is fine
  await assert.rejects(second.nak(), { code: 'InvalidArgument' })
  assert.equal(await consumer.next(300), null)
  consumer.stop()
})

test('a failed claim-check download is naked and redelivered; garbage is terminated', async () => {
  const store = new Map()
  const upload = (_url, name, data) => {
    const url = `http://jsstore.invalid/${name}`
    store.set(url, Buffer.from(data))
    return url
  }
  let calls = 0
  const download = (url) => {
    calls += 1
    if (calls === 1) throw new Error('store is down')
    return store.get(url)
  }
  await bridge.jetstreamPublish('jsnode.retry', [['blob', h.bytes(3000), 'binary']], {
    fileserver_upload_handler: upload,
    size_threshold: 100,
  })
  const consumer = await bridge.jetstreamConsumer('NODETEST', 'retry', {
    filter_subject: 'jsnode.retry',
    fileserver_download_handler: download,
    nak_delay: 50,
  })
  await assert.rejects(consumer.next(5000), { code: 'Handler' })
  const d = await consumer.next(5000)
  assert.equal(d.delivered, 2)
  assert.ok(d.envelope.payloads[0][1].equals(h.bytes(3000)))
  assert.equal(calls, 2)

  const nc = await nats.connect({ servers: S.nats.url })
  const js = nc.jetstream()
  await js.publish('jsnode.retry', Buffer.from('garbage'))
  await assert.rejects(consumer.next(5000), { code: 'InvalidEnvelope' })
  assert.equal(await consumer.next(500), null) // terminated, not redelivered
  consumer.stop()
  await nc.close()
})
