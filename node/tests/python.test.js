'use strict'
// An exchange with the Python package in both directions (same engine, so the same values).
// Needs the virtual environment scripts/test-python.sh makes (target/py-test-venv, with the
// natsbridge wheel, nats-py and pyarrow); skipped with a message when it is missing.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const VENV = process.env.NATSBRIDGE_PY_VENV || path.join(h.ROOT, 'target', 'py-test-venv')
const PYTHON = path.join(VENV, 'bin', 'python')
const skip = fs.existsSync(PYTHON)
  ? false
  : `no Python test environment at ${VENV} (scripts/test-python.sh makes it; make test runs Python before Node)`

const PY_SEND = `
import asyncio, sys
import pyarrow as pa
from natsbridge import NATSBridge

async def main():
    url, files, subject = sys.argv[1:4]
    table = pa.table({
        "id": pa.array([1, 2, None], pa.int64()),
        "name": pa.array(["Alice", None, "Zoë"], pa.string()),
        "score": pa.array([95.5, None, 70.25], pa.float64()),
        "ok": pa.array([True, False, None], pa.bool_()),
    })
    data = [
        ("message", "from Python ✓", "text"),
        ("config", {"a": 1, "list": [1, None, "x"]}, "dictionary"),
        ("students", table, "table"),
        ("avatar", bytes(range(256)), "image"),
        ("big", bytes([7]) * 1_200_000, "binary"),
    ]
    env, _ = await NATSBridge.smartsend(subject, data, broker_url=url, fileserver_url=files, sender_name="python")
    print(env["msg_id"], flush=True)

asyncio.run(main())
`

const PY_RECEIVE = `
import asyncio, base64, json, sys
import nats
from natsbridge import NATSBridge

async def main():
    url, subject = sys.argv[1:3]
    nc = await nats.connect(url)
    sub = await nc.subscribe(subject)
    await nc.flush()
    print("ready", flush=True)
    msg = await sub.next_msg(timeout=20)
    env = await NATSBridge.smartreceive(msg, table_type="rows")
    out = []
    for p in env["payloads"]:
        name, value, type_ = p
        if isinstance(value, (bytes, bytearray)):
            value = {"base64": base64.b64encode(value).decode()}
        out.append([name, type_, p.transport, value])
    print(json.dumps({"msg_id": env["msg_id"], "sender_name": env["sender_name"], "payloads": out}), flush=True)
    await nc.close()

asyncio.run(main())
`

function python(script, args) {
  const child = spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const line = (pattern) =>
    new Promise((resolve, reject) => {
      const check = () => pattern.test(stdout) && resolve()
      child.stdout.on('data', check)
      child.once('exit', (code) => reject(new Error(`python exited with ${code}: ${stderr}`)))
    })
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000)
  done.then(() => clearTimeout(timer))
  return { line, done }
}

const getServers = h.servers()
let S
let bridge

before(async () => {
  if (skip) return
  S = await getServers()
  bridge = await NATSBridge.Bridge.connect({ servers: S.nats.url })
})
after(async () => {
  await bridge?.close()
  await h.stopAll()
})

test('Python sends, Node receives', { skip }, async () => {
  const subj = h.subject('frompy')
  const sub = await bridge.subscribe(subj, { table_format: 'rows' })
  const { code, stdout, stderr } = await python(PY_SEND, [S.nats.url, S.files.url, subj]).done
  assert.equal(code, 0, stderr)
  const env = await sub.next()
  await sub.unsubscribe()
  assert.equal(env.msg_id, stdout.trim())
  assert.equal(env.sender_name, 'python')
  assert.deepStrictEqual(
    env.payloads.map((p) => [p[0], p[2], p.transport]),
    [
      ['message', 'text', 'direct'],
      ['config', 'dictionary', 'direct'],
      ['students', 'table', 'direct'],
      ['avatar', 'image', 'direct'],
      ['big', 'binary', 'link'],
    ],
  )
  assert.equal(env.payloads[0][1], 'from Python ✓')
  assert.deepStrictEqual(env.payloads[1][1], { a: 1, list: [1, null, 'x'] })
  assert.deepStrictEqual(env.payloads[2][1], [
    { id: 1, name: 'Alice', score: 95.5, ok: true },
    { id: 2, name: null, score: null, ok: false },
    { id: null, name: 'Zoë', score: 70.25, ok: null },
  ])
  assert.ok(env.payloads[3][1].equals(Buffer.from([...Array(256).keys()])))
  assert.ok(env.payloads[4][1].equals(Buffer.alloc(1_200_000, 7)))
})

test('Node sends, Python receives', { skip }, async () => {
  const subj = h.subject('topy')
  const py = python(PY_RECEIVE, [S.nats.url, subj])
  await py.line(/ready/)
  const big = h.bytes(1_100_000, 41)
  const rows = [
    { id: 1, name: 'Alice', score: 95.5 },
    { id: 2, name: null, score: 88 },
  ]
  const [sent] = await NATSBridge.smartsend(
    subj,
    [
      ['message', 'from Node ✓', 'text'],
      ['config', { a: 1, list: [true, null] }, 'dictionary'],
      ['students', rows, 'table'],
      ['clip', h.bytes(500, 3), 'video'],
      ['big', big, 'binary'],
    ],
    { broker_url: S.nats.url, fileserver_url: S.files.url, sender_name: 'node' },
  )
  const { code, stdout, stderr } = await py.done
  assert.equal(code, 0, stderr)
  const got = JSON.parse(stdout.trim().split('\n').pop())
  assert.equal(got.msg_id, sent.msg_id)
  assert.equal(got.sender_name, 'node')
  assert.deepStrictEqual(got.payloads, [
    ['message', 'text', 'direct', 'from Node ✓'],
    ['config', 'dictionary', 'direct', { a: 1, list: [true, null] }],
    ['students', 'table', 'direct', rows],
    ['clip', 'video', 'direct', { base64: h.bytes(500, 3).toString('base64') }],
    ['big', 'binary', 'link', { base64: big.toString('base64') }],
  ])
})
