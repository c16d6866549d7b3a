'use strict'
// The seed's JavaScript values to and from what the addon takes and gives.
const { NATSBridgeError, invalid, describe } = require('./errors.js')

// The order is the engine's (`PayloadType::ALL`): the addon takes a type by its index here.
const TYPES = ['text', 'dictionary', 'table', 'image', 'audio', 'video', 'binary']
const TYPE_CODE = new Map(TYPES.map((t, i) => [t, i]))
// What a payload's value is, for the addon (see `PayloadsIn` in src/send.rs).
const TEXT = 0
const JSON_TEXT = 1
const BYTES = 2
const PATH = 3
const BYTES_TYPES = new Set(['image', 'audio', 'video', 'binary'])
/** The envelopes this package decoded (so `smartreceive` hands them back as they are). A
 *  WeakSet rather than a marker property: defining a property on each envelope cost as much as
 *  reading its fields. Kept under a registry symbol, shared by every copy of the package. */
const DECODED_KEY = Symbol.for('natsbridge.decoded')
const decoded = globalThis[DECODED_KEY] instanceof WeakSet ? globalThis[DECODED_KEY] : new WeakSet()
if (globalThis[DECODED_KEY] !== decoded) {
  Object.defineProperty(globalThis, DECODED_KEY, { value: decoded, configurable: true })
}

/** Whether `v` is an envelope this package decoded (earlier versions marked it with a
 *  property under the same symbol). */
function isDecoded(v) {
  return decoded.has(v) || v[DECODED_KEY] === true
}

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

/** `[[dataname, value, type], ...]` into the addon's payloads: one flat array of
 *  `dataname, type index, value kind, value` for each (see `PayloadsIn` in src/send.rs). */
function toNativePayloads(data) {
  if (!Array.isArray(data)) {
    throw invalid(`data must be an array of [dataname, value, type] items, got ${describe(data)}`)
  }
  const out = new Array(data.length * 4)
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
    const code = TYPE_CODE.get(type)
    if (code === undefined) {
      throw new NATSBridgeError(
        'UnknownPayloadType',
        `${where()}: unknown payload type ${JSON.stringify(type)}; expected one of ${TYPES.join(', ')}`,
      )
    }
    let kind
    let v
    if (type === 'text') {
      if (typeof value !== 'string') throw invalid(`${where()}: a text payload must be a string, got ${describe(value)}`)
      kind = TEXT
      v = value
    } else if (type === 'dictionary') {
      kind = JSON_TEXT
      v = jsonText(value, where)
    } else if (type === 'table') {
      if (Array.isArray(value)) {
        for (let r = 0; r < value.length; r++) {
          const row = value[r]
          if (row === null || typeof row !== 'object' || Array.isArray(row) || ArrayBuffer.isView(row)) {
            throw invalid(`${where()}: table row ${r} must be an object of column values, got ${describe(row)}`)
          }
        }
        kind = JSON_TEXT
        v = jsonText(value, where)
      } else if (isArrowTable(value)) {
        kind = BYTES
        v = asBuffer(arrow().tableToIPC(value, 'stream'))
      } else if (isFileRef(value)) {
        kind = PATH
        v = value.path
      } else {
        v = asBuffer(value)
        if (!v) {
          throw invalid(
            `${where()}: a table must be an array of row objects, an apache-arrow Table or Arrow IPC bytes, got ${describe(value)}`,
          )
        }
        kind = BYTES
      }
    } else if (isFileRef(value)) {
      kind = PATH
      v = value.path
    } else {
      v = asBuffer(value)
      if (!v) throw invalid(`${where()}: ${type} data must be a Uint8Array, Buffer or ArrayBuffer, got ${describe(value)}`)
      kind = BYTES
    }
    const at = 4 * i
    out[at] = dataname
    out[at + 1] = code
    out[at + 2] = kind
    out[at + 3] = v
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

/** The seed's envelope object from the addon's decoded form, `[text, ...side]` or just `text`
 *  (see `EnvelopeOut` in src/receive.rs): `side` holds long texts and bytes by index; `text` is
 *  the compact form (fields each preceded by a NUL, read by position) or, rarely, JSON. */
function receivedEnvelope(n, tableFormat) {
  const s = typeof n === 'string' ? n : n[0]
  if (s.charCodeAt(0) !== 0) return receivedFromJson(s, n, tableFormat)
  const a = s.split('\u0000')
  // a[0] is the empty string before the first field; the payloads' 8 fields each start at 14.
  const count = (a.length - 14) >> 3
  const payloads = new Array(count)
  for (let i = 0, j = 14; i < count; i++, j += 8) {
    const type = a[j + 2]
    const kind = a[j + 6]
    const v = a[j + 7]
    let value
    if (kind === 't') value = v
    else if (kind === 'j') value = JSON.parse(v)
    else if (kind === 'f') value = { path: v }
    else if (kind === 'b' && type === 'table' && tableFormat === 'arrow') value = arrow().tableFromIPC(n[+v])
    else value = n[+v]
    const t = [a[j + 1], value, type]
    t.id = a[j]
    t.transport = a[j + 3]
    t.size = +a[j + 4]
    const metadata = a[j + 5]
    if (metadata !== '') t.metadata = JSON.parse(metadata)
    payloads[i] = t
  }
  const metadata = a[13]
  const env = {
    correlation_id: a[1],
    msg_id: a[2],
    timestamp: a[3],
    send_to: a[4],
    msg_purpose: a[5],
    sender_name: a[6],
    sender_id: a[7],
    receiver_name: a[8],
    receiver_id: a[9],
    reply_to: a[10],
    reply_to_msg_id: a[11],
    broker_url: a[12],
    metadata: metadata === '{}' ? {} : JSON.parse(metadata),
    payloads,
  }
  decoded.add(env)
  return env
}

/** `receivedEnvelope` for the JSON form: `[header, [[id, dataname, type, transport, size,
 *  metadata, kind, value], ...]]`. */
function receivedFromJson(text, n, tableFormat) {
  const [env, entries] = JSON.parse(text)
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
  decoded.add(env)
  return env
}

/** `[env, env_json_str]` from the addon's `SentOut`: the JSON text alone (a small envelope), or
 *  `{ json, bytes?, header? }`. */
function sentPair(n) {
  if (typeof n === 'string') return [JSON.parse(n), n]
  return [sentEnvelope(n), n.json]
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
  isDecoded,
  arrow,
  asBuffer,
  toNativePayloads,
  sendOptions,
  receiveOptions,
  messageBytes,
  receivedEnvelope,
  sentPair,
}
