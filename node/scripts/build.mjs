#!/usr/bin/env node
// Builds the addon with cargo into the workspace's target directory (no --target, so release
// dependencies are shared with the rest of the workspace), copies it next to package.json and
// generates the TypeScript declarations with napi-rs (napi-derive's type definitions rendered by
// @napi-rs/cli's generator, after the header in dts-header.d.ts).
//
//   node scripts/build.mjs [--release] [--dts PATH]
//
// --dts writes the declarations to PATH instead of index.d.ts (the drift check compares them).
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateTypeDef } from '@napi-rs/cli'

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const release = args.includes('--release')
const dtsIndex = args.indexOf('--dts')
const dtsOut = dtsIndex >= 0 ? resolve(args[dtsIndex + 1]) : join(here, 'index.d.ts')

const crate = 'natsbridge-node'
const metadata = JSON.parse(
  spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: here,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).stdout,
)
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : metadata.target_directory
const profile = release ? 'release' : 'debug'
const typeDefDir = join(targetDir, 'napi-typedef', profile)
mkdirSync(typeDefDir, { recursive: true })

const env = { ...process.env, NAPI_TYPE_DEF_TMP_FOLDER: typeDefDir }
if (!existsSync(join(typeDefDir, crate))) {
  // The type definitions are written while the crate compiles: force that once.
  env.NAPI_FORCE_BUILD_NATSBRIDGE_NODE = String(Date.now())
}
const cargoArgs = ['build', '-p', crate, ...(release ? ['--release'] : [])]
console.error(`$ cargo ${cargoArgs.join(' ')}  (target dir ${targetDir})`)
const built = spawnSync('cargo', cargoArgs, { cwd: here, env, stdio: 'inherit' })
if (built.status !== 0) process.exit(built.status ?? 1)

const lib = join(targetDir, profile, 'libnatsbridge_node.so')
const dest = join(here, 'natsbridge.linux-x64-gnu.node')
copyFileSync(lib, `${dest}.tmp`)
renameSync(`${dest}.tmp`, dest)
console.error(`addon: ${dest}`)

const { dts } = await generateTypeDef({
  typeDefDir,
  cwd: here,
  configDtsHeaderFile: 'dts-header.d.ts',
  constEnum: false,
})
mkdirSync(dirname(dtsOut), { recursive: true })
writeFileSync(dtsOut, dts)
console.error(`types: ${dtsOut}`)
