'use strict'
// An exchange with the `natsbridge` command line in both directions: Node sends and
// `natsbridge listen` decodes, `natsbridge send` sends and Node decodes; and request-reply with
// `natsbridge reply` / `natsbridge request`. The same engine, so the values must match exactly.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge } = NATSBridge
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

test('Node sends, `natsbridge listen --json` receives', async () => {
  const subj = h.subject('tocli')
  const listen = h.startCli(['listen', subj, '-s', S.nats.url, '--count', '1', '--json', '--ready'])
  await listen.ready
  const big = h.bytes(1_300_000, 31)
  const rows = [
    { id: 1, name: 'Alice', score: 95.5, ok: true },
    { id: 2, name: null, score: 88, ok: false },
  ]
  const [sent] = await NATSBridge.smartsend(
    subj,
    [
      ['message', 'Hello from Node ✓', 'text'],
      ['config', { a: 1, list: [true, null, 'x'] }, 'dictionary'],
      ['students', rows, 'table'],
      ['avatar', h.bytes(300, 2), 'image'],
      ['doc', big, 'binary'],
    ],
    { broker_url: S.nats.url, fileserver_url: S.files.url, sender_name: 'node' },
  )
  const { code, stdout, stderr } = await listen.done
  assert.equal(code, 0, stderr)
  const got = JSON.parse(stdout.trim().split('\n').pop())
  assert.equal(got.msg_id, sent.msg_id)
  assert.equal(got.sender_name, 'node')
  assert.deepStrictEqual(
    got.payloads.map((p) => [p.dataname, p.payload_type, p.transport]),
    [
      ['message', 'text', 'direct'],
      ['config', 'dictionary', 'direct'],
      ['students', 'table', 'direct'],
      ['avatar', 'image', 'direct'],
      ['doc', 'binary', 'link'],
    ],
  )
  assert.equal(got.payloads[0].value, 'Hello from Node ✓')
  assert.deepStrictEqual(got.payloads[1].value, { a: 1, list: [true, null, 'x'] })
  assert.deepStrictEqual(got.payloads[2].value, rows)
  assert.equal(got.payloads[3].value.base64, h.bytes(300, 2).toString('base64'))
  assert.equal(got.payloads[4].value.base64, big.toString('base64'))
})

test('`natsbridge send` sends, Node receives', async () => {
  const dir = h.tmpdir()
  const bin = path.join(dir, 'blob.bin')
  const big = path.join(dir, 'big.bin')
  const csv = path.join(dir, 'students.csv')
  fs.writeFileSync(bin, h.bytes(1000, 5))
  fs.writeFileSync(big, h.bytes(1_500_000, 6))
  fs.writeFileSync(csv, 'id,name,score\n1,Alice,95.5\n2,Bob,88\n3,,70.25\n')
  const subj = h.subject('fromcli')
  const sub = await bridge.subscribe(subj)
  const r = await h.runCli([
    'send', subj, '-s', S.nats.url, '--fileserver', S.files.url,
    '-p', 'text:name=hi from the CLI',
    '-p', 'json:d={"a":1,"b":[1,2]}',
    '-p', `binary:b=${bin}`,
    '-p', `video:v=${big}`,
    '--table', `t=${csv}`,
    '--json',
  ])
  assert.equal(r.code, 0, r.stderr)
  const sentJson = JSON.parse(r.stdout.trim().split('\n').pop())
  const env = await sub.next()
  await sub.unsubscribe()
  assert.equal(env.msg_id, sentJson.msg_id)
  assert.deepStrictEqual(
    env.payloads.map((p) => [p[0], p[2], p.transport]),
    [
      ['name', 'text', 'direct'],
      ['d', 'dictionary', 'direct'],
      ['b', 'binary', 'direct'],
      ['v', 'video', 'link'],
      ['t', 'table', 'direct'],
    ],
  )
  assert.equal(env.payloads[0][1], 'hi from the CLI')
  assert.deepStrictEqual(env.payloads[1][1], { a: 1, b: [1, 2] })
  assert.ok(env.payloads[2][1].equals(h.bytes(1000, 5)))
  assert.ok(env.payloads[3][1].equals(h.bytes(1_500_000, 6)))
  assert.deepStrictEqual(env.payloads[4][1], [
    { id: 1, name: 'Alice', score: 95.5 },
    { id: 2, name: 'Bob', score: 88 },
    { id: 3, name: null, score: 70.25 },
  ])
  // The CLI's printed JSON is the same envelope; its link payload was one-shot and is gone now.
  await assert.rejects(NATSBridge.smartreceive(r.stdout.trim().split('\n').pop()), { code: 'PayloadNotFound' })
})

test('Node requests, `natsbridge reply --echo` answers; `natsbridge request` asks, Node replies', async () => {
  const subj = h.subject('clireply')
  const replier = h.startCli(['reply', subj, '-s', S.nats.url, '--echo', '--count', '1', '--ready'])
  await replier.ready
  const reply = await bridge.smartrequest(subj, [['q', { ask: 'echo' }, 'dictionary'], ['t', 'text', 'text']], { timeout: 10000 })
  assert.deepStrictEqual(reply.payloads[0][1], { ask: 'echo' })
  assert.equal(reply.payloads[1][1], 'text')
  assert.equal((await replier.done).code, 0)

  const subj2 = h.subject('clirequest')
  const sub = await bridge.subscribe(subj2)
  const answering = (async () => {
    const env = await sub.next()
    await bridge.reply(env, [['answer', `got ${env.payloads[0][1]}`, 'text']])
  })()
  const r = await h.runCli(['request', subj2, '-s', S.nats.url, '-p', 'text:q=ping', '--json', '--timeout', '10'])
  await answering
  assert.equal(r.code, 0, r.stderr)
  const got = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.equal(got.payloads[0].value, 'got ping')
  await sub.unsubscribe()
})
