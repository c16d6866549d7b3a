'use strict'
// Request-reply with a Bridge, the seed's request-response example (a responder written with
// nats.js subscribe), plain NATS requests, queue groups and subscription behaviour.
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
  bridge = await Bridge.connect({ servers: S.nats.url, name: 'request-test' })
})
after(async () => {
  await bridge?.close()
  await h.stopAll()
})

test('smartrequest and reply between two Bridges', async () => {
  const responder = await Bridge.connect(S.nats.url)
  const subj = h.subject('svc')
  const sub = await responder.subscribe(subj)
  const served = (async () => {
    for await (const env of sub) {
      const [[, data]] = env.payloads
      await responder.reply(env, [['answer', { doubled: data.n * 2 }, 'dictionary']], { sender_name: 'responder' })
      return env
    }
  })()
  const reply = await bridge.smartrequest(subj, [['q', { n: 21 }, 'dictionary']], { timeout: 5000, correlation_id: 'corr-1' })
  const request = await served
  assert.deepStrictEqual(reply.payloads[0][1], { doubled: 42 })
  assert.equal(reply.reply_to_msg_id, request.msg_id)
  assert.equal(reply.correlation_id, 'corr-1')
  assert.equal(reply.sender_name, 'responder')
  assert.match(request.reply_to, /^_INBOX\./)
  await responder.close()
})

test("the seed's request-response example: a nats.js responder", async () => {
  // Responder, as in the seed's README (servers and broker_url point at the test server).
  async function testResponder(ready) {
    const conn = await nats.connect({ servers: S.nats.url })
    const subscription = await conn.subscribe('/device/command')
    ready()
    for await (const msg of subscription) {
      const env = await NATSBridge.smartreceive(msg, {
        fileserver_download_handler: NATSBridge.fetchWithBackoff,
      })
      const replyTo = env.reply_to
      for (const [dataname, data, type] of env.payloads) {
        if (dataname === 'command' && data.action === 'read_sensor') {
          assert.equal(type, 'dictionary')
          const response = { sensor_id: 'sensor-001', value: 42.5 }
          if (replyTo) {
            await NATSBridge.smartsend(replyTo, [['data', response, 'dictionary']], { broker_url: S.nats.url })
          }
        }
      }
      break
    }
    await conn.close()
  }
  let ready
  const isReady = new Promise((r) => (ready = r))
  const responder = testResponder(ready)
  await isReady
  const responses = await bridge.subscribe('/device/response')
  // Requester, as in the seed's README.
  const [env, env_json_str] = await NATSBridge.smartsend(
    '/device/command',
    [['command', { action: 'read_sensor' }, 'dictionary']],
    { broker_url: S.nats.url, reply_to: '/device/response' },
  )
  assert.equal(JSON.parse(env_json_str).reply_to, '/device/response')
  const response = await responses.next()
  assert.deepStrictEqual(response.payloads[0][1], { sensor_id: 'sensor-001', value: 42.5 })
  assert.equal(response.payloads[0][0], 'data')
  assert.equal(env.send_to, '/device/command')
  await responses.unsubscribe()
  await responder
})

test('smartrequest answered by a plain nats.js responder (reply subject from the NATS message)', async () => {
  const nc = await nats.connect({ servers: S.nats.url })
  const subj = h.subject('plain')
  const sub = nc.subscribe(subj, { max: 1 })
  ;(async () => {
    for await (const msg of sub) {
      const env = await NATSBridge.smartreceive(msg)
      await NATSBridge.smartsend(env.reply_to, [['echo', env.payloads[0][1], 'text']], { nats_connection: nc })
    }
  })()
  await nc.flush()
  const reply = await bridge.smartrequest(subj, [['q', 'ping', 'text']], { timeout: 5000 })
  assert.equal(reply.payloads[0][1], 'ping')
  await nc.close()
})

test('a plain NATS request (nats.js request) answered through Bridge.reply', async () => {
  const subj = h.subject('natsreq')
  const sub = await bridge.subscribe(subj)
  const nc = await nats.connect({ servers: S.nats.url })
  const [, json] = await NATSBridge.smartsend(subj, [['q', 'hi', 'text']], { is_publish: false })
  const answered = (async () => {
    const env = await sub.next()
    assert.match(env.reply_to, /^_INBOX\./)
    await bridge.reply(env, [['a', 'hello back', 'text']])
  })()
  const msg = await nc.request(subj, Buffer.from(json), { timeout: 5000 })
  const env = await NATSBridge.smartreceive(msg)
  assert.equal(env.payloads[0][1], 'hello back')
  await answered
  await sub.unsubscribe()
  await nc.close()
})

test('smartrequest with nobody listening rejects with NoResponders', async () => {
  await assert.rejects(bridge.smartrequest(h.subject('nobody'), [['q', 'x', 'text']], { timeout: 3000 }), {
    name: 'NATSBridgeError',
    code: 'NoResponders',
  })
})

test('smartrequest without an answer in time rejects with Timeout', async () => {
  const subj = h.subject('silent')
  const sub = await bridge.subscribe(subj)
  const t0 = Date.now()
  await assert.rejects(bridge.smartrequest(subj, [['q', 'x', 'text']], { timeout: 200 }), { code: 'Timeout' })
  assert.ok(Date.now() - t0 < 3000)
  await sub.unsubscribe()
})

test('queue groups: each message goes to one member', async () => {
  const subj = h.subject('queue')
  const a = await bridge.subscribe(subj, { queue: 'workers' })
  const b = await bridge.subscribe(subj, { queue: 'workers' })
  for (let i = 0; i < 10; i++) await bridge.smartsend(subj, [['i', String(i), 'text']])
  await bridge.flush()
  const got = []
  const drain = async (sub) => {
    for (;;) {
      const env = await Promise.race([sub.next(), new Promise((r) => setTimeout(() => r(null), 300))])
      if (!env) return
      got.push(Number(env.payloads[0][1]))
    }
  }
  await Promise.all([drain(a), drain(b)])
  assert.deepStrictEqual(got.sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  await a.unsubscribe()
  await b.unsubscribe()
})

test('a bad message rejects next() only; the subscription goes on; on_error skips it', async () => {
  const subj = h.subject('bad')
  const nc = await nats.connect({ servers: S.nats.url })
  const sub = await bridge.subscribe(subj)
  nc.publish(subj, Buffer.from('not an envelope'))
  await NATSBridge.smartsend(subj, [['ok', 'fine', 'text']], { nats_connection: nc })
  await nc.flush()
  await assert.rejects(sub.next(), { code: 'InvalidEnvelope' })
  assert.equal((await sub.next()).payloads[0][1], 'fine')
  await sub.unsubscribe()

  const errors = []
  const sub2 = await bridge.subscribe(subj, { on_error: (e) => errors.push(e.code) })
  nc.publish(subj, Buffer.from('{"payloads": 5}'))
  await NATSBridge.smartsend(subj, [['ok', 'after', 'text']], { nats_connection: nc })
  await nc.flush()
  for await (const env of sub2) {
    assert.equal(env.payloads[0][1], 'after')
    break // unsubscribes
  }
  assert.deepStrictEqual(errors, ['InvalidEnvelope'])
  assert.equal(await sub2.next(), null)
  await nc.close()
})

test('unsubscribe ends a pending next(); closing the Bridge ends its subscriptions', async () => {
  const sub = await bridge.subscribe(h.subject('end'))
  const pending = sub.next()
  await sub.unsubscribe()
  assert.equal(await pending, null)

  const other = await Bridge.connect({ servers: [S.nats.url] })
  const sub2 = await other.subscribe(h.subject('end2'))
  const pending2 = sub2.next()
  await other.close()
  assert.equal(await pending2, null)
  await other.close() // twice is fine
  assert.equal(other.brokerUrl, S.nats.url)
})
