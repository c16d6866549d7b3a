'use strict'
// The process exits normally once the last Bridge is closed: no handle keeps the event loop alive
// (subscriptions, consumers, JS handlers, the module-level connection cache).
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const h = require('./helpers.js')

const getServers = h.servers()
let S
before(async () => {
  S = await getServers()
})
after(h.stopAll)

function runNode(script, env = {}, timeout = 20000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the process did not exit within ${timeout} ms; stdout: ${stdout}; stderr: ${stderr}`))
    }, timeout)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

test('the process exits after close(): subscriptions, consumers, handlers and the shared connection', async () => {
  const t0 = Date.now()
  const r = await runNode(
    `
    const N = require('natsbridge')
    const url = process.env.URL
    ;(async () => {
      const b = await N.Bridge.connect({ servers: url })
      const sub = await b.subscribe('life.x', { fileserver_download_handler: async () => Buffer.alloc(0) })
      const ended = (async () => { for await (const _ of sub) {} console.log('iteration ended') })()
      await b.ensureStream('LIFE', ['life.js'])
      await b.jetstreamPublish('life.js', [['a', 'b', 'text']])
      const consumer = await b.jetstreamConsumer('LIFE', 'd')
      const d = await consumer.next(5000)
      console.log('consumed', d.envelope.payloads[0][1])
      const pending = consumer.next()
      await N.smartsend('life.x', [['a', 'b', 'text']], { broker_url: url, fileserver_upload_handler: () => 'http://x/y' })
      await b.smartsend('life.x', [['a', 'b', 'text']])
      await b.close()
      await ended
      console.log('closed')
    })()
    `,
    { URL: S.nats.url },
  )
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /consumed b/)
  assert.match(r.stdout, /iteration ended/)
  assert.match(r.stdout, /closed/)
  assert.ok(Date.now() - t0 < 15000)
})

test('module-level smartsend alone: the process exits without any close', async () => {
  const r = await runNode(
    `
    const N = require('natsbridge')
    N.smartsend('life.y', [['a', 'b', 'text']], { broker_url: process.env.URL }).then(([env]) => console.log('sent', env.msg_id))
    `,
    { URL: S.nats.url },
  )
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /sent [0-9a-f-]{36}/)
})

test('ESM import works in a .mjs program', async () => {
  const r = await runNode(
    `import('natsbridge').then(async (m) => {
       const { smartsend, smartreceive, default: NB } = m
       const [, json] = await smartsend('esm', [['t', 'esm', 'text']], { is_publish: false })
       const env = await NB.smartreceive(json)
       console.log(env.payloads[0][1], typeof smartreceive)
     })`,
  )
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'esm function')
})
