'use strict'
// The 1 GiB by-link transfer (file to file) against a plain HTTP upload + download of the same file
// to the same server, with the process's peak RSS above idle; and 100-byte request-reply latency
// through natsbridge against raw nats.js request-reply. Used by bench.js.
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { pipeline } = require('node:stream/promises')

const MiB = 1024 * 1024

/** Resident set size now and its peak since the last resetPeak(), in bytes (Linux /proc). */
function rss() {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))[1]) * 1024
  return { now: field('VmRSS'), peak: field('VmHWM') }
}

/** Resets the peak RSS counter (VmHWM) to the current RSS. */
function resetPeak() {
  fs.writeFileSync('/proc/self/clear_refs', '5')
}

function writeFile(file, size) {
  const block = Buffer.alloc(MiB)
  for (let i = 0; i < MiB; i++) block[i] = Number((BigInt(i) * 2654435761n) >> 11n) & 0xff
  const fd = fs.openSync(file, 'w')
  for (let n = 0; n < size / MiB; n++) fs.writeSync(fd, block)
  fs.closeSync(fd)
}

function request(url, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, resolve)
    req.on('error', reject)
    if (body === undefined) req.end()
    else body(req).catch(reject)
  })
}

async function json(res) {
  const chunks = []
  for await (const c of res) chunks.push(c)
  return JSON.parse(Buffer.concat(chunks).toString())
}

/** The Plik calls with node:http, the file streamed from disk; resolves to the download URL. */
async function plainUpload(base, file) {
  const create = JSON.stringify({ OneShot: true })
  const up = await json(
    await request(`${base}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' } }, async (req) =>
      req.end(create),
    ),
  )
  const boundary = crypto.randomUUID().replace(/-/g, '')
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const headers = {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': head.length + fs.statSync(file).size + tail.length,
    'x-uploadtoken': up.uploadToken,
  }
  const res = await request(`${base}/file/${up.id}`, { method: 'POST', headers }, async (req) => {
    req.write(head)
    await pipeline(fs.createReadStream(file, { highWaterMark: MiB }), req, { end: false })
    req.end(tail)
  })
  const f = await json(res)
  return `${base}/file/${up.id}/${f.id}/${f.fileName}`
}

async function plainDownload(url, to) {
  const res = await request(url, { method: 'GET' })
  await pipeline(res, fs.createWriteStream(to, { highWaterMark: MiB }))
}

/** Writes back what earlier steps left dirty, so that neither run pays for the other's write-back. */
function settle() {
  require('node:child_process').execFileSync('sync')
}

/** One transfer each way; sender and receiver are in this process. */
async function benchFile(NATSBridge, natsUrl, files, tmp, size) {
  const src = path.join(tmp, 'big.bin')
  writeFile(src, size)
  settle()
  let t = process.hrtime.bigint()
  await plainDownload(await plainUpload(files, src), path.join(tmp, 'plain.out'))
  const httpS = Number(process.hrtime.bigint() - t) / 1e9
  if (fs.statSync(path.join(tmp, 'plain.out')).size !== size) throw new Error('plain download size differs')
  fs.rmSync(path.join(tmp, 'plain.out'))

  const saved = path.join(tmp, 'saved')
  fs.mkdirSync(saved)
  const sender = await NATSBridge.Bridge.connect({ servers: natsUrl })
  const receiver = await NATSBridge.Bridge.connect({ servers: natsUrl })
  const sub = await receiver.subscribe('bench.big', { save_dir: saved })
  global.gc?.()
  const idle = rss().now
  resetPeak()
  settle()
  t = process.hrtime.bigint()
  const next = sub.next()
  await sender.smartsend('bench.big', [['big', { path: src }, 'binary']], { fileserver_url: files })
  const env = await next
  const oursS = Number(process.hrtime.bigint() - t) / 1e9
  const peak = rss().peak
  const got = env.payloads[0][1]
  if (!got || typeof got.path !== 'string' || fs.statSync(got.path).size !== size) throw new Error('saved file differs')
  fs.rmSync(got.path)
  fs.rmSync(src)
  await sender.close()
  await receiver.close()
  return {
    metric: 'file',
    size,
    ours_s: oursS,
    baseline_s: httpS,
    ours_mbps: size / oursS / 1e6,
    baseline_mbps: size / httpS / 1e6,
    idle_rss_mib: idle / MiB,
    peak_rss_above_idle_mib: Math.max(0, peak - idle) / MiB,
    sender_from_file: true,
    receiver_to_file: true,
    ours: 'Bridge.smartsend of a { path } payload by link, received by a subscription with save_dir',
    baseline: 'node:http: the Plik upload calls streaming the file, GET streamed to a file',
  }
}

function percentiles(samples) {
  const s = samples.slice().sort((a, b) => a - b)
  return [s[Math.floor(s.length / 2)], s[Math.floor((s.length * 99) / 100)]]
}

/** Interleaved 100-byte request-reply: Bridge.smartrequest answered by Bridge.reply from another
 *  Bridge, against a nats.js request answered by msg.respond from another connection. */
async function benchRpc(NATSBridge, nats, natsUrl, rounds) {
  const text = 'x'.repeat(100)
  const body = Buffer.from(text)
  const requester = await NATSBridge.Bridge.connect({ servers: natsUrl })
  const responder = await NATSBridge.Bridge.connect({ servers: natsUrl })
  const ncReq = await nats.connect({ servers: natsUrl })
  const ncRep = await nats.connect({ servers: natsUrl })
  const sub = await responder.subscribe('bench.rpc')
  const answering = (async () => {
    for await (const env of sub) await responder.reply(env, env.payloads.map((p) => [p[0], p[1], p[2]]))
  })()
  ncRep.subscribe('bench.rpc.raw', { callback: (err, m) => err || m.respond(m.data) })
  await ncRep.flush()
  const ours = []
  const raw = []
  for (let i = 0; i < rounds + 20; i++) {
    let t = process.hrtime.bigint()
    const reply = await requester.smartrequest('bench.rpc', [['q', text, 'text']], { timeout: 5000 })
    const dOurs = Number(process.hrtime.bigint() - t) / 1e6
    if (reply.payloads[0][1] !== text) throw new Error('wrong reply')
    t = process.hrtime.bigint()
    const msg = await ncReq.request('bench.rpc.raw', body, { timeout: 5000 })
    const dRaw = Number(process.hrtime.bigint() - t) / 1e6
    if (msg.data.length !== body.length) throw new Error('wrong raw reply')
    if (i >= 20) {
      ours.push(dOurs)
      raw.push(dRaw)
    }
  }
  await sub.unsubscribe()
  await answering
  await requester.close()
  await responder.close()
  await ncReq.close()
  await ncRep.close()
  const [o50, o99] = percentiles(ours)
  const [r50, r99] = percentiles(raw)
  return {
    metric: 'rpc',
    size: 100,
    rounds,
    ours_p50_ms: o50,
    ours_p99_ms: o99,
    raw_p50_ms: r50,
    raw_p99_ms: r99,
    ours: 'Bridge.smartrequest, answered by Bridge.reply',
    raw: 'nats.js request, answered by msg.respond',
  }
}

module.exports = { benchFile, benchRpc }
