'use strict'
// JavaScript functions as fileserver_upload_handler / fileserver_download_handler, sync and
// async, called on the JS thread; their failures, and the exported default handlers.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const NATSBridge = require('natsbridge')
const h = require('./helpers.js')

const { Bridge } = NATSBridge
const getServers = h.servers()
let S
let bridge
const mainThread = require('node:worker_threads').isMainThread

before(async () => {
  S = await getServers()
  bridge = await Bridge.connect({ servers: S.nats.url })
})
after(async () => {
  await bridge?.close()
  await h.stopAll()
})

/** An in-memory claim-check store written in JS. */
function memoryStore() {
  const blobs = new Map()
  const calls = { upload: [], download: [] }
  return {
    blobs,
    calls,
    uploadSync(fileserver_url, dataname, data) {
      assert.ok(mainThread)
      calls.upload.push({ fileserver_url, dataname, size: data.length, isBuffer: Buffer.isBuffer(data) })
      const url = `http://memory.invalid/${blobs.size}/${dataname}`
      blobs.set(url, Buffer.from(data))
      return url
    },
    async uploadAsync(fileserver_url, dataname, data) {
      await new Promise((r) => setTimeout(r, 5))
      calls.upload.push({ fileserver_url, dataname, size: data.length, isBuffer: Buffer.isBuffer(data) })
      const url = `http://memory.invalid/${blobs.size}/${dataname}`
      blobs.set(url, Buffer.from(data))
      return { status: 200, uploadid: 'u', fileid: 'f', url }
    },
    downloadSync(url, max_retries, base_delay, max_delay, correlation_id, info) {
      calls.download.push({ url, max_retries, base_delay, max_delay, correlation_id, info })
      return new Uint8Array(blobs.get(url))
    },
    async downloadAsync(url, max_retries, base_delay, max_delay, correlation_id, info) {
      await new Promise((r) => setTimeout(r, 5))
      calls.download.push({ url, max_retries, base_delay, max_delay, correlation_id, info })
      const b = blobs.get(url)
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) // an ArrayBuffer
    },
  }
}

for (const mode of ['sync', 'async']) {
  test(`${mode} JS upload and download handlers carry link payloads`, async () => {
    const store = memoryStore()
    const upload = mode === 'sync' ? store.uploadSync : store.uploadAsync
    const download = mode === 'sync' ? store.downloadSync : store.downloadAsync
    const subj = h.subject(`handlers-${mode}`)
    const sub = await bridge.subscribe(subj, {
      fileserver_download_handler: download,
      max_retries: 3,
      base_delay: 10,
      max_delay: 50,
    })
    const big = h.bytes(1_300_000, 4)
    const rows = [{ a: 1 }, { a: 2 }]
    const [sent] = await bridge.smartsend(
      subj,
      [
        ['small', 'stays direct', 'text'],
        ['big', big, 'binary'],
        ['t', rows, 'table'],
      ],
      {
        fileserver_url: 'http://store.example',
        fileserver_upload_handler: upload,
        size_threshold: 100,
        correlation_id: `corr-${mode}`,
      },
    )
    assert.deepStrictEqual(
      sent.payloads.map((p) => p.transport),
      ['direct', 'link', 'link'],
    )
    assert.ok(sent.payloads[1].data.startsWith('http://memory.invalid/'))
    assert.deepStrictEqual(
      store.calls.upload.map((c) => [c.fileserver_url, c.dataname, c.isBuffer]).sort(),
      [
        ['http://store.example', 'big', true],
        ['http://store.example', 't', true],
      ],
    )
    const env = await sub.next()
    assert.equal(env.payloads[0][1], 'stays direct')
    assert.ok(env.payloads[1][1].equals(big))
    assert.deepStrictEqual(env.payloads[2][1], rows)
    assert.equal(store.calls.download.length, 2)
    for (const c of store.calls.download) {
      assert.equal(c.max_retries, 3)
      assert.equal(c.base_delay, 10)
      assert.equal(c.max_delay, 50)
      assert.equal(c.correlation_id, `corr-${mode}`)
      assert.equal(typeof c.info.size, 'number')
    }
    // The module-level smartreceive with the same handler, on the envelope's JSON.
    await sub.unsubscribe()
  })
}

test('handlers with the module-level smartsend / smartreceive (is_publish false)', async () => {
  const store = memoryStore()
  const [, json] = await NATSBridge.smartsend('x.handlers', [['doc', { big: 'x'.repeat(5000) }, 'dictionary']], {
    is_publish: false,
    size_threshold: 10,
    fileserver_upload_handler: store.uploadAsync,
  })
  const env = await NATSBridge.smartreceive(json, { fileserver_download_handler: store.downloadSync })
  assert.deepStrictEqual(env.payloads[0][1], { big: 'x'.repeat(5000) })
  assert.equal(env.payloads[0].transport, 'link')
})

test('the size and digest checks run on what a JS download handler returns', async () => {
  const store = memoryStore()
  const [, json] = await NATSBridge.smartsend('x.check', [['b', h.bytes(2000), 'binary']], {
    is_publish: false,
    size_threshold: 1,
    fileserver_upload_handler: store.uploadSync,
  })
  await assert.rejects(NATSBridge.smartreceive(json, { fileserver_download_handler: () => h.bytes(1999) }), {
    code: 'SizeMismatch',
  })
  await assert.rejects(NATSBridge.smartreceive(json, { fileserver_download_handler: () => h.bytes(2000, 99) }), {
    code: 'DigestMismatch',
  })
})

test('handler failures reject with code Handler, and the process goes on', async () => {
  const [, json] = await NATSBridge.smartsend('x.fail', [['b', h.bytes(10), 'binary']], {
    is_publish: false,
    size_threshold: 1,
    fileserver_upload_handler: () => 'http://nowhere.invalid/x',
  })
  const bad = [
    () => {
      throw new Error('sync boom')
    },
    async () => {
      throw new Error('async boom')
    },
    () => Promise.reject('a plain string'),
    () => 42,
    async () => ({ not: 'bytes' }),
  ]
  for (const handler of bad) {
    await assert.rejects(NATSBridge.smartreceive(json, { fileserver_download_handler: handler }), (e) => {
      assert.equal(e.code, 'Handler')
      assert.match(e.message, /download handler failed/)
      return true
    })
  }
  for (const handler of [
    () => {
      throw new TypeError('upload refused')
    },
    async () => null,
    () => ({ url: 5 }),
    async () => '',
  ]) {
    await assert.rejects(
      NATSBridge.smartsend('x.fail', [['b', h.bytes(10), 'binary']], {
        is_publish: false,
        size_threshold: 1,
        fileserver_upload_handler: handler,
      }),
      (e) => {
        assert.equal(e.code, 'Handler')
        assert.match(e.message, /upload handler/)
        return true
      },
    )
  }
  await assert.rejects(
    NATSBridge.smartsend('x.fail', [['b', h.bytes(10), 'binary']], { fileserver_upload_handler: 'not a function' }),
    { code: 'InvalidArgument' },
  )
})

test('the event loop keeps running while the engine works', async () => {
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const started = Date.now()
  const big = h.bytes(8 * 1024 * 1024, 12)
  const subj = h.subject('loop')
  const sub = await bridge.subscribe(subj)
  await bridge.smartsend(subj, [['big', big, 'binary']], { fileserver_url: S.files.url })
  const env = await sub.next()
  clearInterval(timer)
  assert.ok(env.payloads[0][1].equals(big))
  const elapsed = Date.now() - started
  assert.ok(ticks >= Math.min(5, elapsed / 4), `${ticks} timer ticks in ${elapsed} ms`)
  await sub.unsubscribe()
})

test('plikOneshotUpload and fetchWithBackoff, the exported defaults', async () => {
  const r = await NATSBridge.plikOneshotUpload(S.files.url, 'hello.txt', Buffer.from('hello plik'))
  assert.equal(r.status, 200)
  assert.ok(r.uploadid && r.fileid)
  assert.equal(r.url, `${S.files.url}/file/${r.uploadid}/${r.fileid}/hello.txt`)
  const back = await NATSBridge.fetchWithBackoff(r.url, 3, 10, 100, 'cid')
  assert.ok(Buffer.isBuffer(back))
  assert.equal(back.toString(), 'hello plik')
  const s = await NATSBridge.plikOneshotUpload(S.files.url, 'str', 'a string')
  assert.equal((await NATSBridge.fetchWithBackoff(s.url)).toString(), 'a string')
  // One-shot: fetched once, then gone.
  await assert.rejects(NATSBridge.fetchWithBackoff(r.url, 2, 10, 20), { code: 'PayloadNotFound' })
  await assert.rejects(NATSBridge.fetchWithBackoff('file:///etc/passwd'), { code: 'OriginNotAllowed' })
  const port = await h.freePort()
  await assert.rejects(NATSBridge.fetchWithBackoff(`http://127.0.0.1:${port}/x`, 2, 10, 20), { code: 'DownloadFailed' })
  await assert.rejects(NATSBridge.plikOneshotUpload(`http://127.0.0.1:${port}`, 'x', Buffer.from('x')), {
    code: 'UploadFailed',
  })
  await assert.rejects(NATSBridge.plikOneshotUpload('ftp://x', 'x', Buffer.from('x')), { code: 'InvalidArgument' })
  await assert.rejects(NATSBridge.fetchWithBackoff(r.url, -1), { code: 'InvalidArgument' })
  // Passing the defaults explicitly, as the seed's examples do.
  const subj = h.subject('defaults')
  const sub = await bridge.subscribe(subj, { fileserver_download_handler: NATSBridge.fetchWithBackoff })
  await bridge.smartsend(subj, [['b', h.bytes(5000), 'binary']], {
    fileserver_url: S.files.url,
    fileserver_upload_handler: NATSBridge.plikOneshotUpload,
    size_threshold: 1000,
  })
  const env = await sub.next()
  assert.equal(env.payloads[0].transport, 'link')
  assert.ok(env.payloads[0][1].equals(h.bytes(5000)))
  await sub.unsubscribe()
})
