'use strict'
// Loads the compiled addon for this platform (built by `npm run build`).
const { existsSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  try {
    return !process.report.getReport().header.glibcVersionRuntime
  } catch {
    return false
  }
}

function candidates() {
  const { platform, arch } = process
  const names = []
  if (platform === 'linux') {
    const gnu = `natsbridge.linux-${arch}-gnu.node`
    const musl = `natsbridge.linux-${arch}-musl.node`
    const both = existsSync(join(__dirname, gnu)) && existsSync(join(__dirname, musl))
    names.push(...(both && isMusl() ? [musl, gnu] : [gnu, musl]))
  }
  else if (platform === 'darwin') names.push(`natsbridge.darwin-${arch}.node`, 'natsbridge.darwin-universal.node')
  else if (platform === 'win32') names.push(`natsbridge.win32-${arch}-msvc.node`)
  names.push('natsbridge.node')
  return names
}

function load() {
  const tried = []
  for (const name of candidates()) {
    const file = join(__dirname, name)
    tried.push(file)
    if (existsSync(file)) return require(file)
  }
  throw new Error(
    `natsbridge: no native addon for ${process.platform}-${process.arch}; looked for ${tried.join(', ')}. ` +
      'Build it with `npm run build` in the package folder (needs a Rust toolchain).',
  )
}

module.exports = load()
