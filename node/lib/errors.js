'use strict'
// Every rejection is a NATSBridgeError whose `code` is the engine's stable kind name and whose
// `errno` is its number. Native errors carry both in a fixed prefix: `NATSBRIDGE[Kind|n] text`.
const native = require('../native.js')

/** Kind name to number and number to kind name, as a TypeScript numeric enum. */
const ErrorCode = {}
for (const [name, code] of Object.entries(native.ErrorCode)) {
  ErrorCode[name] = code
  ErrorCode[code] = name
}
Object.freeze(ErrorCode)

class NATSBridgeError extends Error {
  constructor(code, message, options) {
    super(message, options)
    Object.defineProperty(this, 'name', { value: 'NATSBridgeError', enumerable: false, configurable: true })
    this.code = code
    this.errno = ErrorCode[code] ?? ErrorCode.Internal
  }
}

const PREFIX = /^NATSBRIDGE\[(\w+)\|(\d+)\] ([\s\S]*)$/

// napi's own statuses for arguments it could not convert (a wrong type reached the addon).
const ARGUMENT_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
  'DetachableArraybufferExpected',
])

function fromNative(e) {
  if (e instanceof NATSBridgeError) return e
  const message = e && typeof e.message === 'string' ? e.message : String(e)
  const m = PREFIX.exec(message)
  if (m && m[1] in ErrorCode) return new NATSBridgeError(m[1], m[3])
  if (e && ARGUMENT_STATUSES.has(e.code)) return new NATSBridgeError('InvalidArgument', message, { cause: e })
  return new NATSBridgeError('Internal', message, { cause: e })
}

/** Awaits a native call, translating its error. */
async function call(fn) {
  try {
    return await fn()
  } catch (e) {
    throw fromNative(e)
  }
}

function invalid(message) {
  return new NATSBridgeError('InvalidArgument', message)
}

/** A short description of a value for error messages. */
function describe(v) {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (Array.isArray(v)) return `an array of length ${v.length}`
  if (typeof v === 'string') return v.length > 40 ? `a string (${JSON.stringify(v.slice(0, 40))}...)` : `the string ${JSON.stringify(v)}`
  if (typeof v === 'object') return `an object (${v.constructor ? v.constructor.name : 'null prototype'})`
  return `${typeof v} ${String(v)}`
}

module.exports = { NATSBridgeError, ErrorCode, call, fromNative, invalid, describe }
