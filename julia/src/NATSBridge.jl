"""
    NATSBridge

Typed multi-payload messaging over NATS with the claim-check pattern, for Julia. Every language
NATSBridge serves runs the same Rust engine; this package reaches it through its C ABI
(libnatsbridge, `include/natsbridge.h`) with `ccall`, so a message sent from Julia reads the same
in Python, Node.js, C, Rust, MicroPython, the command line, and back.

The seed's API:

    env, env_json_str = smartsend("/chat/room1", [("message_text", "Hello!", "text")])
    env = smartreceive(msg)          # env["payloads"]: [(dataname, data, type), ...]

plus a connection (`NATSBridge.connect`) with subscriptions, request-reply and JetStream. See
julia/README.md for installing (the library comes from `ENV["NATSBRIDGE_LIB"]` or an artifact).
"""
module NATSBridge

using Arrow
using Artifacts
using DataFrames
using JSON3
using Libdl
using Tables
using UUIDs: uuid4

export smartsend, smartreceive, smartrequest, plik_oneshot_upload, _fetch_with_backoff
export NATSBridgeError, Envelope, PayloadFile

include("lib.jl")
include("capi.jl")
include("errors.jl")
include("handles.jl")
include("handlers.jl")
include("payloads.jl")
include("envelope.jl")
include("options.jl")
include("client.jl")
include("api.jl")
include("jetstream.jl")

function __init__()
    # A library handle or function address from the process that precompiled the package is
    # meaningless here: start from nothing (the library is loaded on first use).
    _LIBRARY[] = nothing
end

end # module NATSBridge
