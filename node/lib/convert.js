'use strict'
// The seed's JavaScript values to and from what the addon takes and gives.
const { NATSBridgeError, invalid, describe } = require('./errors.js')

const TYPES = ['text', 'dictionary', 'table', 'image', 'audio', 'video', 'binary']
const TYPE_SET = new Set(TYPES)
const BYTES_TYPES = new Set(['image', 'audio', 'video', 'binary'])
/** Marks envelopes this package decoded (so `smartreceive` hands them back as they are). */
const DECODED = Symbol.for('natsbridge.decoded')

let arrowModule
/** apache-arrow, loaded on first use (an optional peer dependency). */
function arrow() {
  if (arrowModule === undefined) {
    try {
      arrowModule = require('apache-arrow')
    } catch (e) {
      throw new NATSBridgeError(
        'InvalidArgument',
        'apache-arrow is needed for apache-arrow tables (table_format "arrow" or a Table value): npm install apache-arrow',
        { cause: e },
      )
    }
  }
  return arrowModule
}

function isArrowTable(v) {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof v.numRows === 'number' &&
    typeof v.schema === 'object' &&
    Array.isArray(v.batches)
  )
}

function isFileRef(v) {
  return v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && typeof v.path === 'string'
}

/** A Buffer over the same memory (no copy), or undefined when `v` holds no bytes. */
function asBuffer(v) {
  if (Buffer.isBuffer(v)) return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer)) {
    return Buffer.from(v)
  }
  return undefined
}

function bigintReplacer(_key, v) {
  if (typeof v !== 'bigint') return v
  const n = Number(v)
  if (!Number.isSafeInteger(n)) throw new TypeError(`the BigInt ${v} does not fit a JSON number exactly`)
  return n
}

function place(where) {
  return typeof where === 'function' ? where() : where
}

/** JSON text of a value, or a clear InvalidArgument naming `where` (a string, or a function
 *  that makes it). */
function jsonText(value, where) {
  let text
  try {
    text = JSON.stringify(value)
  } catch (e) {
    try {
      text = JSON.stringify(value, bigintReplacer)
    } catch (e2) {
      throw invalid(`${place(where)}: the value is not JSON-serializable: ${e2.message || e.message}`)
    }
  }
  if (text === undefined) throw invalid(`${place(where)}: the value is not JSON-serializable (got ${describe(value)})`)
  return text
}

/** `[[dataname, value, type], ...]` into the addon's payloads, each
 *  `[dataname, type, text, json, bytes, path]` with exactly one of the last four set. */
function toNativePayloads(data) {
  if (!Array.isArray(data)) {
    throw invalid(`data must be an array of [dataname, value, type] items, got ${describe(data)}`)
  }
  const out = new Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const item = data[i]
    if (!Array.isArray(item) || item.length !== 3) {
      throw invalid(`data[${i}] must be a [dataname, value, type] array, got ${describe(item)}`)
    }
    const [dataname, value, type] = item
    if (typeof dataname !== 'string') throw invalid(`data[${i}]: dataname must be a string, got ${describe(dataname)}`)
    // Only error messages need it: made on demand, off the path of every call.
    const where = () => `data[${i}] (${JSON.stringify(dataname)})`
    if (typeof type !== 'string') throw invalid(`${where()}: type must be a string, got ${describe(type)}`)
    if (!TYPE_SET.has(type)) {
      throw new NATSBridgeError(
        'UnknownPayloadType',
        `${where()}: unknown payload type ${JSON.stringify(type)}; expected one of ${TYPES.join(', ')}`,
      )
    }
    const p = [dataname, type, undefined, undefined, undefined, undefined]
    if (type === 'text') {
      if (typeof value !== 'string') throw invalid(`${where()}: a text payload must be a string, got ${describe(value)}`)
      p[2] = value
    } else if (type === 'dictionary') {
      p[3] = jsonText(value, where)
    } else if (type === 'table') {
      if (Array.isArray(value)) {
        for (let r = 0; r < value.length; r++) {
          const row = value[r]
          if (row === null || typeof row !== 'object' || Array.isArray(row) || ArrayBuffer.isView(row)) {
            throw invalid(`${where()}: table row ${r} must be an object of column values, got ${describe(row)}`)
          }
        }
        p[3] = jsonText(value, where)
      } else if (isArrowTable(value)) {
        p[4] = asBuffer(arrow().tableToIPC(value, 'stream'))
      } else if (isFileRef(value)) {
        p[5] = value.path
      } else {
        const bytes = asBuffer(value)
        if (!bytes) {
          throw invalid(
            `${where()}: a table must be an array of row objects, an apache-arrow Table or Arrow IPC bytes, got ${describe(value)}`,
          )
        }
        p[4] = bytes
      }
    } else {
      if (isFileRef(value)) {
        p[5] = value.path
      } else {
        const bytes = asBuffer(value)
        if (!bytes) throw invalid(`${where()}: ${type} data must be a Uint8Array, Buffer or ArrayBuffer, got ${describe(value)}`)
        p[4] = bytes
      }
    }
    out[i] = p
  }
  return out
}

function errorText(e) {
  if (e instanceof Error) return e.message || String(e)
  return typeof e === 'string' ? e : describe(e)
}

/** A user's upload handler as the addon calls it: never throws, always resolves to a reply. */
function wrapUpload(handler) {
  return (fileserverUrl, dataname, data) =>
    Promise.resolve()
      .then(() => handler(fileserverUrl, dataname, data))
      .then(
        (r) => {
          if (typeof r === 'string') return { url: r }
          if (r && typeof r === 'object' && typeof r.url === 'string') return { url: r.url }
          return { error: `it returned ${describe(r)}; expected a URL string or an object with a url` }
        },
        (e) => ({ error: errorText(e) }),
      )
}

/** A user's download handler as the addon calls it: never throws, always resolves to a reply. */
function wrapDownload(handler) {
  return (url, maxRetries, baseDelay, maxDelay, correlationId, size) =>
    Promise.resolve()
      .then(() => handler(url, maxRetries, baseDelay, maxDelay, correlationId, { size }))
      .then(
        (r) => {
          const data = typeof r === 'string' ? Buffer.from(r, 'utf8') : asBuffer(r)
          if (data) return { data }
          return { error: `it returned ${describe(r)}; expected a Uint8Array, Buffer or ArrayBuffer` }
        },
        (e) => ({ error: errorText(e) }),
      )
}

function checkObject(options, what) {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object' || Array.isArray(options)) throw invalid(`${what} must be an object, got ${describe(options)}`)
  return options
}

function copyTyped(src, dst, keys, type) {
  for (const k of keys) {
    const v = src[k]
    if (v === undefined || v === null) continue
    if (typeof v !== type) throw invalid(`option ${k} must be a ${type}, got ${describe(v)}`)
    if (type === 'number' && !(Number.isFinite(v) && v >= 0)) throw invalid(`option ${k} must be a non-negative number, got ${v}`)
    dst[k] = v
  }
}

/** `o`, or undefined when it holds nothing: the addon then reads no option fields at all (a
 *  request's `{ timeout }` would otherwise cost a property lookup per option, twice). */
function nonEmpty(o) {
  for (const _ in o) return o
  return undefined
}

const SEND_STRINGS = [
  'broker_url',
  'fileserver_url',
  'correlation_id',
  'msg_purpose',
  'sender_name',
  'receiver_name',
  'receiver_id',
  'reply_to',
  'reply_to_msg_id',
  'msg_id',
  'sender_id',
]

/** The seed's smartsend options for the addon (`nats_connection` is handled by the caller). */
function sendOptions(options, defaults) {
  const src = checkObject(options, 'options')
  if (!src) return undefined
  const o = {}
  copyTyped(src, o, SEND_STRINGS, 'string')
  copyTyped(src, o, ['size_threshold', 'max_payload'], 'number')
  copyTyped(src, o, ['is_publish'], 'boolean')
  if (src.metadata !== undefined && src.metadata !== null) {
    if (typeof src.metadata !== 'object' || Array.isArray(src.metadata)) {
      throw invalid(`option metadata must be a plain object, got ${describe(src.metadata)}`)
    }
    o.metadata = jsonText(src.metadata, 'option metadata')
  }
  const h = src.fileserver_upload_handler
  if (h !== undefined && h !== null && h !== defaults.upload) {
    if (typeof h !== 'function') throw invalid(`option fileserver_upload_handler must be a function, got ${describe(h)}`)
    o.fileserver_upload_handler = wrapUpload(h)
  }
  return nonEmpty(o)
}

const TABLE_FORMATS = new Set(['rows', 'arrow', 'ipc'])

/** The seed's smartreceive options for the addon. */
function receiveOptions(options, defaults) {
  const src = checkObject(options, 'options')
  if (!src) return undefined
  const o = {}
  if (src.max_retries !== undefined && src.max_retries !== null) {
    if (!Number.isInteger(src.max_retries) || src.max_retries < 0 || src.max_retries > 0xffffffff) {
      throw invalid(`option max_retries must be a non-negative integer, got ${describe(src.max_retries)}`)
    }
    o.max_retries = src.max_retries
  }
  copyTyped(src, o, ['base_delay', 'max_delay', 'max_in_memory'], 'number')
  copyTyped(src, o, ['save_dir'], 'string')
  if (src.allowed_origins !== undefined && src.allowed_origins !== null) {
    const a = src.allowed_origins
    if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) {
      throw invalid(`option allowed_origins must be an array of strings, got ${describe(a)}`)
    }
    o.allowed_origins = a
  }
  if (src.table_format !== undefined && src.table_format !== null) {
    if (!TABLE_FORMATS.has(src.table_format)) {
      throw invalid(`option table_format must be 'rows', 'arrow' or 'ipc', got ${describe(src.table_format)}`)
    }
    if (src.table_format === 'arrow') arrow()
    o.table_format = src.table_format
  }
  const h = src.fileserver_download_handler
  if (h !== undefined && h !== null && h !== defaults.download) {
    if (typeof h !== 'function') throw invalid(`option fileserver_download_handler must be a function, got ${describe(h)}`)
    o.fileserver_download_handler = wrapDownload(h)
  }
  return nonEmpty(o)
}

/** The bytes of whatever `smartreceive` was given. */
function messageBytes(msg) {
  if (typeof msg === 'string') return Buffer.from(msg, 'utf8')
  const direct = asBuffer(msg)
  if (direct) return direct
  if (msg !== null && typeof msg === 'object') {
    const d = msg.data
    if (typeof d === 'string') return Buffer.from(d, 'utf8')
    const b = asBuffer(d)
    if (b) return b
  }
  throw invalid(
    `smartreceive needs a NATS message (an object with a data Uint8Array), a Uint8Array/Buffer or a string, got ${describe(msg)}`,
  )
}

/** The seed's envelope object from the addon's decoded form, `[json, ...side]` (see
 *  `EnvelopeOut` in src/receive.rs): `json` is `[header, [[id, dataname, type, transport, size,
 *  metadata, kind, value], ...]]`, and `side` holds long texts and bytes by index. */
function receivedEnvelope(n, tableFormat) {
  const [env, entries] = JSON.parse(n[0])
  const payloads = new Array(entries.length)
  for (let i = 0; i < payloads.length; i++) {
    const [id, dataname, type, transport, size, metadata, kind, v] = entries[i]
    let value
    if (kind === 't' || kind === 'j') value = v
    else if (kind === 'f') value = { path: v }
    else if (kind === 'b' && type === 'table' && tableFormat === 'arrow') value = arrow().tableFromIPC(n[v])
    else value = n[v]
    const t = [dataname, value, type]
    t.id = id
    t.transport = transport
    t.size = size
    if (metadata != null) t.metadata = metadata
    payloads[i] = t
  }
  env.payloads = payloads
  Object.defineProperty(env, DECODED, { value: true })
  return env
}

/** The seed's `env` of a sent envelope. A small one comes without `header`: its whole JSON (the
 *  header fields, then `payloads`) is parsed at once, cheaper than a lazy property, which makes V8
 *  rebuild the object. The `payloads` of a large one are parsed from the JSON on first use. */
function sentEnvelope(n) {
  const json = n.json
  if (n.header === undefined) return JSON.parse(json)
  const env = JSON.parse(n.header)
  let payloads
  Object.defineProperty(env, 'payloads', {
    enumerable: true,
    configurable: true,
    get() {
      if (payloads === undefined) payloads = JSON.parse(json).payloads
      return payloads
    },
    set(v) {
      payloads = v
    },
  })
  return env
}

module.exports = {
  DECODED,
  arrow,
  asBuffer,
  toNativePayloads,
  sendOptions,
  receiveOptions,
  messageBytes,
  receivedEnvelope,
  sentEnvelope,
}
