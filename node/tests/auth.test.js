'use strict'
// Bridge.connect's authentication options against servers that require them.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge } = NATSBridge
after(h.stopAll)

async function roundTrip(bridge) {
  const subj = h.subject('auth')
  const sub = await bridge.subscribe(subj)
  await bridge.smartsend(subj, [['t', 'authenticated', 'text']])
  assert.equal((await sub.next()).payloads[0][1], 'authenticated')
  await sub.unsubscribe()
}

test('token authentication', async () => {
  const nats = await h.startNats(['--auth', 's3cret-token'])
  const bridge = await Bridge.connect({ servers: nats.url, token: 's3cret-token' })
  await roundTrip(bridge)
  await bridge.close()
  await assert.rejects(Bridge.connect({ servers: nats.url, token: 'wrong', connect_timeout: 2000 }), { code: 'Connection' })
  await nats.stop()
})

test('user and password', async () => {
  const nats = await h.startNats(['--user', 'alice', '--pass', 'wonderland'])
  const bridge = await Bridge.connect({ servers: [nats.url], user: 'alice', pass: 'wonderland', name: 'auth-test' })
  await roundTrip(bridge)
  await bridge.close()
  await assert.rejects(Bridge.connect({ servers: nats.url, user: 'alice', pass: 'nope', connect_timeout: 2000 }), {
    code: 'Connection',
  })
  await assert.rejects(Bridge.connect({ servers: nats.url, pass: 'only a password' }), { code: 'InvalidArgument' })
  await nats.stop()
})

test('tls required against a plain server fails with Connection', async () => {
  const nats = await h.startNats()
  await assert.rejects(Bridge.connect({ servers: nats.url, tls: true, connect_timeout: 2000, max_reconnects: 0 }), {
    code: 'Connection',
  })
  await nats.stop()
})
