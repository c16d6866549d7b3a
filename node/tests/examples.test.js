'use strict'
// The README's examples are complete programs (examples/*.js, shipped in the package): each runs
// against a real nats-server and file server, and the README shows each one verbatim.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const PKG = path.dirname(require.resolve('natsbridge'))
const README = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8')
const getServers = h.servers()
let S

before(async () => {
  S = await getServers()
})
after(h.stopAll)

function run(file, args = [], onStderr) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PKG, 'examples', file), ...args], {
      env: { ...process.env, NATS_URL: S.nats.url, FILESERVER_URL: S.files.url },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      onStderr?.(stderr)
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${file} did not finish: ${stdout} ${stderr}`))
    }, 30000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const EXPECT = {
  'chat.js': [/large_document: binary by link/, /received message_text \(text\): "Hello!"/, /received large_document \(binary\): 2000000 bytes/],
  'dictionary.js': [/received config: ssid=MyNetwork interval=60/],
  'table.js': [
    /rows: \[\{"id":1,"name":"Alice","score":95\},\{"id":2,"name":"Bob","score":88\},\{"id":3,"name":"Charlie","score":92\}\]/,
    /arrow: id: Int64, name: Utf8, score: Int64 \(3 rows\)/,
    /scores back: \[\{"score":95.5\},\{"score":88\},\{"score":92.25\}\]/,
  ],
  'request-response.js': [/answered: \{"sensor_id":"sensor-001","value":42.5\}/, /smartrequest answered: \{"sensor_id":"sensor-001","value":42.5\}/],
  'handlers.js': [/report travels as link: https:\/\/my-store.example\/objects\/0\/report/, /received 3000000 bytes/],
  'jetstream.js': [/the repeat is a duplicate: true/, /order: \{"id":17,"qty":2\} delivery #1/],
}

for (const [file, patterns] of Object.entries(EXPECT)) {
  test(`examples/${file} runs and is in the README`, async () => {
    const source = fs.readFileSync(path.join(PKG, 'examples', file), 'utf8')
    assert.ok(README.includes(source), `README.md shows examples/${file} verbatim`)
    const { code, stdout, stderr } = await run(file)
    assert.equal(code, 0, stderr)
    for (const p of patterns) assert.match(stdout, p)
  })
}

test('examples/demo-participant.js prints what arrives as `natsbridge listen --json` does', async () => {
  const subj = h.subject('demo')
  let ready
  const isReady = new Promise((r) => (ready = r))
  const done = run('demo-participant.js', [subj, S.nats.url], (err) => /listening on/.test(err) && ready())
  await isReady
  await NATSBridge.smartsend(
    subj,
    [
      ['t', 'hi', 'text'],
      ['rows', [{ a: 1 }], 'table'],
      ['b', Buffer.from([1, 2, 3]), 'binary'],
    ],
    { broker_url: S.nats.url },
  )
  const { code, stdout, stderr } = await done
  assert.equal(code, 0, stderr)
  const got = JSON.parse(stdout)
  assert.deepStrictEqual(
    got.payloads.map((p) => [p.dataname, p.payload_type, p.transport, p.value]),
    [
      ['t', 'text', 'direct', 'hi'],
      ['rows', 'table', 'direct', [{ a: 1 }]],
      ['b', 'binary', 'direct', { base64: 'AQID' }],
    ],
  )
  assert.equal(got.send_to, subj)
})
