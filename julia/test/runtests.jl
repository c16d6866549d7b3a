# The NATSBridge.jl suite: every payload type both ways and by both transports, the seed's API,
# subscriptions, request-reply, Julia upload and download handlers, JetStream, errors, handle
# lifetimes, the golden vectors of tests/vectors, and messages exchanged with the Rust command
# line. It starts its own nats-server and file server (see support.jl).
#
#   NATSBRIDGE_LIB=target/debug/libnatsbridge.so julia --project=julia -e 'using Pkg; Pkg.test()'

using Test
using NATSBridge
using NATSBridge: Envelope, PayloadFile, NATSBridgeError
using DataFrames
using Arrow
using JSON3
using Tables
using Base64
using Sockets
using UUIDs

include("support.jl")

# Sends `data` without a server (is_publish = false) and decodes what would have travelled.
function roundtrip(data; kw...)
    env, json = smartsend("jl.roundtrip", data; is_publish = false, kw...)
    return env, json, smartreceive(json)
end

payload(env, name) = only(p for p in env["payloads"] if p[1] == name)

const BYTES = UInt8[0:255...]

@testset "NATSBridge.jl" begin

@testset "library" begin
    @test isfile(NATSBridge.library_path())
    @test occursin(r"^\d+\.\d+\.\d+", NATSBridge.library_version())
    # The Julia error types are the engine's kinds, with the C ABI's names and codes.
    for (code, name, _) in NATSBridge.ERROR_KINDS
        @test unsafe_string(NATSBridge.nb_result_name(code)) == String(name)
        T = getfield(NATSBridge, name)
        @test T <: NATSBridgeError
        e = T("message")
        @test e.code == code
        @test NATSBridge.kind(e) == String(name)
    end
    @test unsafe_string(NATSBridge.nb_result_name(0)) == "Ok"
    @test NATSBridge._error(99, "x") isa NATSBridge.Internal
    for (i, t) in enumerate(NATSBridge.PAYLOAD_TYPES)
        @test unsafe_string(NATSBridge.nb_payload_type_name(i - 1)) == t
        @test NATSBridge._payload_type_code(t) == i - 1
    end
    @test NATSBridge._payload_type_code("arrowtable") == NATSBridge.NB_PAYLOAD_TABLE
    # A wrong NATSBRIDGE_LIB says what to do.
    withenv("NATSBRIDGE_LIB" => "/nonexistent/libnatsbridge.so") do
        err = try
            NATSBridge.library_path()
            nothing
        catch e
            e
        end
        @test err isa NATSBridge.LibraryNotFound
        @test occursin("NATSBRIDGE_LIB", err.message)
        @test occursin("cargo build", err.message)
    end
    # A directory holding the library works too.
    withenv("NATSBRIDGE_LIB" => dirname(NATSBridge.library_path())) do
        @test NATSBridge.library_path() == joinpath(dirname(NATSBridge._library().path), NATSBridge._library_filename())
    end
end

@testset "every payload type, direct, without a server" begin
    df = DataFrame(id = [1, 2, 3], name = ["Alice", "Bob", "Charlie"], score = [95.5, 88.0, 92.25],
                   passed = [true, false, true], note = ["a", missing, "c"])
    data = [
        ("message_text", "Hello, 世界! 🎉", "text"),
        ("with_nul", "a\0b", "text"),
        ("empty_text", "", "text"),
        ("config", Dict("wifi_ssid" => "MyNetwork", "update_interval" => 60, "nested" => Dict("x" => Any[1, 2.5, nothing, true])), "dictionary"),
        ("named", (a = 1, b = "two"), "dictionary"),
        ("array", [1, "two", 3.0], "dictionary"),
        ("students", df, "table"),
        ("coltable", (x = [1, 2], y = ["p", "q"]), "table"),
        ("rowtable", [(k = 1, v = "one"), (k = 2, v = "two")], "table"),
        ("image", BYTES, "image"),
        ("audio", UInt8[1, 2, 3], "audio"),
        ("video", view(BYTES, 10:20), "video"),
        ("binary", IOBuffer(UInt8[9, 8, 7]), "binary"),
        ("empty_binary", UInt8[], "binary"),
    ]
    env, json, got = roundtrip(data)
    @test env isa Envelope
    @test json isa String
    @test length(got["payloads"]) == length(data)
    @test [p[1] for p in got["payloads"]] == [d[1] for d in data]
    @test [p[3] for p in got["payloads"]] == [d[3] for d in data]
    @test all(i.transport == "direct" for i in NATSBridge.payload_info(got))
    @test payload(got, "message_text")[2] == "Hello, 世界! 🎉"
    @test payload(got, "with_nul")[2] == "a\0b"
    @test payload(got, "empty_text")[2] == ""
    cfg = payload(got, "config")[2]
    @test cfg isa Dict{String,Any}
    @test cfg["wifi_ssid"] == "MyNetwork" && cfg["update_interval"] == 60
    @test json_equal(cfg["nested"]["x"], Any[1, 2.5, nothing, true])
    @test payload(got, "named")[2] == Dict{String,Any}("a" => 1, "b" => "two")
    @test json_equal(payload(got, "array")[2], Any[1, "two", 3.0])
    students = payload(got, "students")[2]
    @test students isa DataFrame
    @test names(students) == names(df)
    @test students.id == df.id && students.name == df.name && students.score == df.score
    @test students.passed == df.passed
    @test isequal(students.note, df.note)
    @test payload(got, "coltable")[2].y == ["p", "q"]
    @test payload(got, "rowtable")[2].v == ["one", "two"]
    @test payload(got, "image")[2] == BYTES
    @test payload(got, "audio")[2] == UInt8[1, 2, 3]
    @test payload(got, "video")[2] == BYTES[10:20]
    @test payload(got, "binary")[2] == UInt8[9, 8, 7]
    @test payload(got, "empty_binary")[2] == UInt8[]
    # Tables can come back as Arrow tables.
    arrow_env = smartreceive(json; table_format = :arrow)
    @test payload(arrow_env, "students")[2] isa Arrow.Table
    @test Tables.columntable(payload(arrow_env, "students")[2]).name == df.name
    # Pre-serialized Arrow IPC bytes are a table too.
    io = IOBuffer()
    Arrow.write(io, df)
    _, _, got2 = roundtrip([("ipc", take!(io), "table")])
    @test payload(got2, "ipc")[2].name == df.name
    # Files as payloads.
    path = tempname()
    write(path, BYTES)
    _, _, got3 = roundtrip([("file", PayloadFile(path), "binary")])
    @test payload(got3, "file")[2] == BYTES
end

@testset "the seed's smartsend / smartreceive shapes" begin
    cid, mid, sid = string(uuid4()), string(uuid4()), string(uuid4())
    env, json = smartsend("/device/config", [("config", Dict("a" => 1), "dictionary")];
                          is_publish = false, correlation_id = cid, msg_id = mid, sender_id = sid,
                          msg_purpose = "updateStatus", sender_name = "julia-test", receiver_name = "device",
                          receiver_id = "dev-1", reply_to = "/device/response", reply_to_msg_id = "prev-id",
                          broker_url = "nats://example.invalid:4222", metadata = Dict("trace" => "t1"))
    wire = readjson(json)
    for k in ("correlation_id", "msg_id", "timestamp", "send_to", "msg_purpose", "sender_name", "sender_id",
              "receiver_name", "receiver_id", "reply_to", "reply_to_msg_id", "broker_url", "metadata", "payloads")
        @test haskey(wire, k)
        @test haskey(env, k)
    end
    @test env["correlation_id"] == cid && env.msg_id == mid && env.sender_id == sid
    @test env.send_to == "/device/config" && env.msg_purpose == "updateStatus"
    @test env.sender_name == "julia-test" && env.receiver_name == "device" && env.receiver_id == "dev-1"
    @test env.reply_to == "/device/response" && env.reply_to_msg_id == "prev-id"
    @test env.broker_url == "nats://example.invalid:4222"
    @test env.metadata == Dict{String,Any}("trace" => "t1")
    @test occursin(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", env.timestamp)
    p = only(env["payloads"])
    @test p["dataname"] == "config" && p["payload_type"] == "dictionary" && p["transport"] == "direct"
    @test p["encoding"] == "base64"
    @test base64decode(p["data"]) == Vector{UInt8}(codeunits(JSON3.write(Dict("a" => 1))))
    @test p["size"] == length(base64decode(p["data"]))
    got = smartreceive(json)
    @test got["msg_id"] == mid && got["correlation_id"] == cid && got.metadata == Dict{String,Any}("trace" => "t1")
    for (dataname, data, type) in got["payloads"]         # the seed's loop shape
        @test (dataname, data, type) == ("config", Dict{String,Any}("a" => 1), "dictionary")
    end
    # Generated ids are UUIDs and differ per message.
    e1, _ = smartsend("s", [("t", "x", "text")]; is_publish = false)
    e2, _ = smartsend("s", [("t", "x", "text")]; is_publish = false)
    @test e1.msg_id != e2.msg_id && length(e1.msg_id) == 36
    # smartreceive takes bytes, strings, anything with a `payload` field, and its own envelopes.
    @test smartreceive(Vector{UInt8}(codeunits(json)))["msg_id"] == mid
    @test smartreceive((payload = json, subject = "x"))["msg_id"] == mid
    @test smartreceive(got) === got
    # Empty payload lists are envelopes too (an ACK).
    ack, _ = smartsend("s", Tuple{String,Any,String}[]; is_publish = false, msg_purpose = "ACK")
    @test isempty(ack["payloads"])
end

@testset "errors carry the engine's kind, code and message" begin
    err = try
        smartreceive("not json at all")
    catch e
        e
    end
    @test err isa NATSBridge.InvalidEnvelope
    @test err.code == NATSBridge.NB_ERR_INVALID_ENVELOPE == 1
    @test !isempty(err.message)
    @test NATSBridge.kind(err) == "InvalidEnvelope"
    @test occursin("InvalidEnvelope", sprint(showerror, err))
    @test_throws NATSBridge.UnknownPayloadType smartsend("s", [("x", "y", "spreadsheet")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", ("x", "y", "text"); is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", 42, "text")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", "not a dict", "dictionary")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", 42, "binary")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", 42, "table")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", "y", "text")]; is_publish = false, size_threshold = -1)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", "y", "text")]; is_publish = false, no_such_option = 1)
    @test_throws NATSBridge.InvalidArgument smartsend("has space", [("x", "y", "text")]; is_publish = false)
    @test_throws NATSBridgeError smartsend("s", [("x", UInt8[0xff, 0xfe], "text")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument smartsend("s", [("x", "y", "text")]; NATS_connection = "nats://x")
    @test_throws NATSBridge.InvalidArgument smartreceive(42)
    # The envelope must fit: metadata alone larger than max_payload cannot.
    @test_throws NATSBridge.EnvelopeTooLarge smartsend("s", [("x", "y", "text")]; is_publish = false,
                                                       max_payload = 512, metadata = Dict("pad" => repeat("x", 2000)))
    # A payload that must go by link with no store reachable fails before anything is published.
    @test_throws NATSBridge.UploadFailed smartsend("s", [("big", BYTES, "binary")]; is_publish = false,
                                                   size_threshold = 10, fileserver_url = "http://127.0.0.1:9")
    # A connection that cannot be made.
    @test_throws NATSBridge.Connection NATSBridge.connect("nats://127.0.0.1:9"; connect_timeout = 1.0)
end

nats = start_nats()
files = start_fileserver()
vector_files_dir = mktempdir()
cp(joinpath(VECTORS, "files"), joinpath(vector_files_dir, "files"))
vector_files = start_fileserver(joinpath(vector_files_dir, "files"))
client = NATSBridge.connect(nats.url; name = "natsbridge-julia-tests")
try

@testset "golden vectors" begin
    index = readjson_file(joinpath(VECTORS, "index.json"))
    @test !isempty(index["valid"]) && !isempty(index["invalid"])
    for name in index["valid"]
        raw = vector_bytes(joinpath(VECTORS, "valid", "$(name).json"), vector_files.url)
        expected = readjson_file(joinpath(VECTORS, "valid", "$(name).expected.json"))
        env = try
            smartreceive(raw)
        catch err
            @error "valid vector $(name) failed" exception = err
            nothing
        end
        @test env !== nothing
        env === nothing && continue
        # The engine's canonical rendering, and the package's own Julia values, both match.
        ok_engine = json_equal(readjson(NATSBridge.canonical_json(env)), expected)
        ok_julia = json_equal(expected_shape(env), expected)
        ok_engine || @error("vector $(name): canonical JSON differs", got = NATSBridge.canonical_json(env))
        ok_julia || @error("vector $(name): Julia values differ", got = expected_shape(env), expected = expected)
        @test ok_engine
        @test ok_julia
    end
    for name in index["invalid"]
        raw = vector_bytes(joinpath(VECTORS, "invalid", "$(name).bin"), vector_files.url)
        expected = readjson_file(joinpath(VECTORS, "invalid", "$(name).expected.json"))["error"]
        err = try
            smartreceive(raw; max_retries = 2, base_delay = 10, max_delay = 50)
            nothing
        catch e
            e
        end
        @test err isa NATSBridgeError
        got = err isa NATSBridgeError ? NATSBridge.kind(err) : string(err)
        got == expected || @error("invalid vector $(name): expected $(expected), got $(got)", err)
        @test got == expected
    end
    # Writer round trip: decode a valid vector, send its payloads again, decode: same values.
    raw = vector_bytes(joinpath(VECTORS, "valid", "mixed_payloads.json"), vector_files.url)
    decoded = smartreceive(raw)
    data = [(n, d, t) for (n, d, t) in decoded["payloads"]]
    _, json = smartsend("jl.rewrite", data; is_publish = false, size_threshold = 4096, fileserver_url = files.url)
    again = smartreceive(json)
    # Transport and size may differ (another threshold; JSON and Arrow IPC written by Julia).
    values_only(env) = [Dict(k => v for (k, v) in p if k in ("dataname", "payload_type", "value"))
                        for p in expected_shape(env)["payloads"]]
    @test json_equal(values_only(again), values_only(decoded))
end

@testset "core NATS: every type over the wire, both transports" begin
    @test isopen(client)
    @test NATSBridge.max_payload(client) > 0
    flush(client; timeout = 5)
    # connect(f, servers) closes the client after f.
    inner = NATSBridge.connect(c -> (@test(isopen(c)); c), nats.url)
    @test !isopen(inner)
    sub = NATSBridge.subscribe(client, "jl.core")
    big = rand(UInt8, 300_000)
    df = DataFrame(id = 1:1000, label = ["row-$(i)" for i in 1:1000])
    data = [("message_text", "Hello!", "text"), ("config", Dict("k" => "v"), "dictionary"),
            ("students", df, "table"), ("user_avatar", BYTES, "image"), ("clip", UInt8[1, 2], "audio"),
            ("movie", UInt8[3, 4], "video"), ("large_document", big, "binary")]
    env, _ = smartsend("jl.core", data; NATS_connection = client, fileserver_url = files.url, size_threshold = 100_000)
    transports = Dict(p["dataname"] => p["transport"] for p in env["payloads"])
    @test transports["large_document"] == "link"
    @test transports["students"] == "direct" || transports["students"] == "link"
    @test transports["message_text"] == "direct"
    got = NATSBridge.next(sub; timeout = 10)
    @test got isa Envelope
    @test got["msg_id"] == env["msg_id"]
    @test payload(got, "message_text")[2] == "Hello!"
    @test payload(got, "config")[2] == Dict{String,Any}("k" => "v")
    @test payload(got, "students")[2].label == df.label
    @test payload(got, "user_avatar")[2] == BYTES
    @test payload(got, "large_document")[2] == big
    info = Dict(i.dataname => i for i in NATSBridge.payload_info(got))
    @test info["large_document"].transport == "link" && info["large_document"].size == length(big)
    # Without a connection: the library's own connection for broker_url.
    env2, _ = smartsend("jl.core", [("t", "via broker_url", "text")]; broker_url = nats.url)
    got2 = NATSBridge.next(sub; timeout = 10)
    @test got2["msg_id"] == env2["msg_id"] && payload(got2, "t")[2] == "via broker_url"
    # smartsend(client, ...) is the same as NATS_connection = client.
    smartsend(client, "jl.core", [("t", "client first", "text")])
    @test payload(NATSBridge.next(sub; timeout = 10), "t")[2] == "client first"
    # The transport rule: a 999_999-byte payload is under the threshold but its base64 would
    # not fit 1 MiB, so it goes by link.
    almost = rand(UInt8, 999_999)
    env3, _ = smartsend(client, "jl.core", [("almost", almost, "binary")]; fileserver_url = files.url)
    @test only(env3["payloads"])["transport"] == "link"
    @test payload(NATSBridge.next(sub; timeout = 10), "almost")[2] == almost
    # Building now and publishing later.
    env4, json4 = smartsend(client, "jl.core", [("later", "built first", "text")]; is_publish = false)
    @test NATSBridge.next(sub; timeout = 0.2) === nothing
    NATSBridge.publish(client, "jl.core", json4)
    @test NATSBridge.next(sub; timeout = 10)["msg_id"] == env4["msg_id"]
    # A streamed file payload by link.
    path = tempname()
    write(path, big)
    smartsend(client, "jl.core", [("file", PayloadFile(path), "binary")]; fileserver_url = files.url, size_threshold = 1000)
    @test payload(NATSBridge.next(sub; timeout = 10), "file")[2] == big
    # Link payloads saved to a directory instead of memory.
    save = mktempdir()
    sub_files = NATSBridge.subscribe(client, "jl.core.files"; save_dir = save)
    smartsend(client, "jl.core.files", [("file", big, "binary")]; fileserver_url = files.url, size_threshold = 1000)
    saved = payload(NATSBridge.next(sub_files; timeout = 10), "file")[2]
    @test saved isa PayloadFile
    @test startswith(saved.path, save) && read(saved) == big
    close(sub_files)
    # Only allowed origins are fetched.
    sub_strict = NATSBridge.subscribe(client, "jl.core.strict"; allowed_origins = ["http://127.0.0.1:1"],
                                      on_error = err -> nothing)
    smartsend(client, "jl.core.strict", [("file", big, "binary")]; fileserver_url = files.url, size_threshold = 1000)
    @test_throws NATSBridge.OriginNotAllowed NATSBridge.next(sub_strict; timeout = 10)
    close(sub_strict)
    close(sub)
end

@testset "subscriptions: iteration, errors, queue groups, lifecycle" begin
    errors_seen = Any[]
    sub = NATSBridge.subscribe(client, "jl.iter.>"; on_error = err -> push!(errors_seen, err))
    got = String[]
    task = @async for env in sub
        push!(got, payload(env, "n")[2])
        length(got) == 3 && break
    end
    smartsend(client, "jl.iter.a", [("n", "one", "text")])
    NATSBridge.publish(client, "jl.iter.b", "this is no envelope")     # skipped, reported
    smartsend(client, "jl.iter.c", [("n", "two", "text")])
    smartsend(client, "jl.iter.d", [("n", "three", "text")])
    @test wait_until(() -> istaskdone(task); timeout = 10)
    @test got == ["one", "two", "three"]
    @test length(errors_seen) == 1 && errors_seen[1] isa NATSBridge.InvalidEnvelope
    # next() throws the decoding error of a bad message, and the subscription goes on.
    NATSBridge.publish(client, "jl.iter.x", "{\"payloads\": 5}")
    @test_throws NATSBridge.InvalidEnvelope NATSBridge.next(sub; timeout = 10)
    smartsend(client, "jl.iter.y", [("n", "after", "text")])
    @test payload(NATSBridge.next(sub; timeout = 10), "n")[2] == "after"
    # Closing ends an iteration in progress.
    done = Ref(false)
    t2 = @async (for _ in sub end; done[] = true)
    sleep(0.2)
    close(sub)
    @test wait_until(() -> done[]; timeout = 5)
    @test !isopen(sub)
    @test_throws NATSBridge.Closed NATSBridge.next(sub; timeout = 0.1)
    close(sub)                                                  # twice is fine
    # Queue groups: each message to one member.
    q1 = NATSBridge.subscribe(client, "jl.queue"; queue = "workers")
    q2 = NATSBridge.subscribe(client, "jl.queue"; queue = "workers")
    for i in 1:10
        smartsend(client, "jl.queue", [("i", string(i), "text")])
    end
    seen = String[]
    for s in (q1, q2)
        while (e = NATSBridge.next(s; timeout = 0.5)) !== nothing
            push!(seen, payload(e, "i")[2])
        end
    end
    @test sort(seen; by = x -> parse(Int, x)) == string.(1:10)
    close(q1)
    close(q2)
    # The do-block form runs the function in a task; close stops it.
    received = Channel{String}(10)
    s3 = NATSBridge.subscribe(client, "jl.doblock") do env
        put!(received, payload(env, "m")[2])
    end
    smartsend(client, "jl.doblock", [("m", "hi", "text")])
    @test take!(received) == "hi"
    close(s3)
    @test wait_until(() -> istaskdone(s3.task); timeout = 5)
end

@testset "request-reply" begin
    # A responder in this process (a task on this thread: the request polls, so it runs).
    responder = NATSBridge.subscribe(client, "jl.device.command") do env
        for (dataname, data, type) in env["payloads"]
            if dataname == "command" && data["action"] == "read_sensor"
                NATSBridge.reply(client, env, [("data", Dict("sensor_id" => "sensor-001", "value" => 42.5), "dictionary")])
            end
        end
    end
    mid, cid = string(uuid4()), string(uuid4())
    rep = smartrequest(client, "jl.device.command", [("command", Dict("action" => "read_sensor"), "dictionary")];
                       timeout = 10, msg_id = mid, correlation_id = cid)
    @test rep isa Envelope
    @test rep["reply_to_msg_id"] == mid
    @test rep["correlation_id"] == cid
    value = payload(rep, "data")[2]
    @test value["sensor_id"] == "sensor-001" && value["value"] == 42.5
    # The seed's pattern: reply_to set by hand, the answer sent with smartsend.
    answers = NATSBridge.subscribe(client, "jl.device.response")
    smartsend(client, "jl.device.command", [("command", Dict("action" => "read_sensor"), "dictionary")];
              reply_to = "jl.device.response")
    @test payload(NATSBridge.next(answers; timeout = 10), "data")[2]["value"] == 42.5
    close(answers)
    close(responder)
    # Nobody listening, and a listener that never answers.
    @test_throws NATSBridge.NoResponders smartrequest(client, "jl.nobody.home", [("x", "y", "text")]; timeout = 5)
    silent = NATSBridge.subscribe(client, "jl.silent")
    t0 = time()
    @test_throws NATSBridge.Timeout smartrequest(client, "jl.silent", [("x", "y", "text")]; timeout = 0.5)
    @test time() - t0 < 5
    close(silent)
    # Replying needs a reply_to.
    env, json = smartsend("s", [("x", "y", "text")]; is_publish = false)
    @test_throws NATSBridge.InvalidArgument NATSBridge.reply(client, smartreceive(json), [("x", "y", "text")])
end

@testset "Julia upload and download handlers" begin
    test_task, test_thread = current_task(), Threads.threadid()
    uploads = Tuple{String,String,Int}[]
    downloads = String[]
    on_test_task = Ref(true)
    function upload(fileserver_url, dataname, data)
        on_test_task[] &= current_task() === test_task && Threads.threadid() == test_thread
        push!(uploads, (fileserver_url, dataname, length(data)))
        sleep(0.01)                        # a handler may wait (and let other tasks run)
        return plik_oneshot_upload(fileserver_url, dataname, data)
    end
    function download(url, max_retries, base_delay, max_delay, correlation_id)
        on_test_task[] &= current_task() === test_task && Threads.threadid() == test_thread
        push!(downloads, url)
        return _fetch_with_backoff(url, max_retries, base_delay, max_delay, correlation_id)
    end
    big = rand(UInt8, 50_000)
    sub = NATSBridge.subscribe(client, "jl.handlers"; fileserver_download_handler = download)
    GC.gc(true)                             # the handler box must survive collections
    env, _ = smartsend(client, "jl.handlers", [("big", big, "binary"), ("small", "s", "text")];
                       fileserver_url = files.url, size_threshold = 1000, fileserver_upload_handler = upload)
    @test uploads == [(files.url, "big", length(big))]
    url = only(p for p in env["payloads"] if p["dataname"] == "big")["data"]
    @test startswith(url, files.url)
    GC.gc(true)
    got = NATSBridge.next(sub; timeout = 10)
    @test payload(got, "big")[2] == big
    @test downloads == [url]
    @test on_test_task[]
    close(sub)
    # An in-memory store: handlers alone, no file server; a 4-argument download handler.
    store = Dict{String,Vector{UInt8}}()
    mem_upload(_, name, data) = (key = string(uuid4()); store[key] = data; "http://memory.invalid/$(key)/$(name)")
    mem_download(url, _, _, _) = store[split(url, '/')[4]]
    _, json = smartsend("jl.mem", [("blob", big, "binary")]; is_publish = false, size_threshold = 1000,
                        fileserver_upload_handler = mem_upload)
    @test length(store) == 1
    @test payload(smartreceive(json; fileserver_download_handler = mem_download), "blob")[2] == big
    # A handler that throws: Handler error, with the Julia exception as cause.
    boom(_, _, _) = error("boom")
    err = try
        smartsend("s", [("b", big, "binary")]; is_publish = false, size_threshold = 10, fileserver_upload_handler = boom)
        nothing
    catch e
        e
    end
    @test err isa NATSBridge.Handler
    @test err.code == NATSBridge.NB_ERR_HANDLER
    @test occursin("boom", err.message)
    @test err.cause isa ErrorException
    # A handler that throws a NATSBridgeError keeps its kind.
    refuse(_, _, _) = throw(NATSBridge.UploadFailed("store full"))
    @test_throws NATSBridge.UploadFailed smartsend("s", [("b", big, "binary")]; is_publish = false, size_threshold = 10,
                                                   fileserver_upload_handler = refuse)
    gone(url, _, _, _) = throw(NATSBridge.PayloadNotFound("no such file"))
    @test_throws NATSBridge.PayloadNotFound smartreceive(json; fileserver_download_handler = gone)
    # A handler answering the wrong thing is a handler failure.
    @test_throws NATSBridge.Handler smartsend("s", [("b", big, "binary")]; is_publish = false, size_threshold = 10,
                                              fileserver_upload_handler = (_, _, _) -> 42)
    @test_throws NATSBridge.Handler smartreceive(json; fileserver_download_handler = (_, _, _, _) -> 42)
    # The library checks what a handler answers: wrong bytes are a size (or digest) mismatch.
    @test_throws NATSBridgeError smartreceive(json; fileserver_download_handler = (_, _, _, _) -> UInt8[1, 2, 3])
    # Inside a handler, calls without Julia handlers work (the library runs them on a helper
    # thread); a call that needs a Julia handler is refused (its handler would run on that thread).
    nested_ok(url, name, data) = plik_oneshot_upload(url, name, data)["url"]
    _, jn = smartsend("s", [("b", big, "binary")]; is_publish = false, size_threshold = 10, fileserver_url = files.url,
                      fileserver_upload_handler = nested_ok)
    @test payload(smartreceive(jn), "b")[2] == big
    nested_bad(url, name, data) = smartsend("s", [("i", data, "binary")]; is_publish = false, size_threshold = 10,
                                            fileserver_upload_handler = mem_upload)[1]["payloads"][1]["data"]
    err = try
        smartsend("s", [("b", big, "binary")]; is_publish = false, size_threshold = 10, fileserver_upload_handler = nested_bad)
        nothing
    catch e
        e
    end
    @test err isa NATSBridge.InvalidArgument
    @test err.cause isa NATSBridge.InvalidArgument
    # The seed's default handlers called directly.
    up = plik_oneshot_upload(files.url, "direct.bin", BYTES)
    @test up["status"] == 200 && startswith(up["url"], files.url) && !isempty(up["uploadid"]) && !isempty(up["fileid"])
    @test _fetch_with_backoff(up["url"]) == BYTES
    @test_throws NATSBridge.PayloadNotFound _fetch_with_backoff(files.url * "/file/nope/nope/nope.bin", 2, 10, 20)
    @test_throws NATSBridgeError _fetch_with_backoff("file:///etc/passwd", 1, 1, 1)
end

@testset "JetStream" begin
    NATSBridge.ensure_stream(client, "NBJL", ["nbjl.>"])
    NATSBridge.ensure_stream(client, "NBJL", "nbjl.>")                 # exists already: fine
    mid = string(uuid4())
    env, json, ack = NATSBridge.jetstream_publish(client, "nbjl.orders", [("order", Dict("id" => 1), "dictionary")];
                                                  msg_id = mid)
    @test ack.stream == "NBJL" && ack.sequence >= 1 && !ack.duplicate
    @test env["msg_id"] == mid
    _, _, again = NATSBridge.jetstream_publish(client, "nbjl.orders", [("order", Dict("id" => 1), "dictionary")]; msg_id = mid)
    @test again.duplicate && again.sequence == ack.sequence
    env2, json2 = smartsend(client, "nbjl.orders", [("order", Dict("id" => 2), "dictionary")]; is_publish = false)
    ack2 = NATSBridge.jetstream_publish_json(client, "nbjl.orders", env2["msg_id"], json2; timeout = 10)
    @test ack2.sequence == ack.sequence + 1 && !ack2.duplicate
    @test NATSBridge.jetstream_publish_json(client, "nbjl.orders", env2["msg_id"], json2).duplicate
    # A manual-ack consumer: ack, nak and redelivery.
    consumer = NATSBridge.jetstream_consumer(client, "NBJL", "jl-manual"; ack = :manual, filter_subject = "nbjl.orders",
                                             ack_wait = 30.0)
    first = NATSBridge.next(consumer; timeout = 10)
    @test payload(first, "order")[2]["id"] == 1
    @test NATSBridge.delivered(first) == 1
    NATSBridge.ack!(first)
    NATSBridge.ack!(first)                                          # twice is fine
    second = NATSBridge.next(consumer; timeout = 10)
    @test payload(second, "order")[2]["id"] == 2
    NATSBridge.nak!(second; delay = 0.1)
    redelivered = NATSBridge.next(consumer; timeout = 10)
    @test redelivered["msg_id"] == second["msg_id"]
    @test NATSBridge.delivered(redelivered) == 2
    NATSBridge.ack!(redelivered)
    @test NATSBridge.next(consumer; timeout = 0.3) === nothing
    close(consumer)
    @test_throws NATSBridge.Closed NATSBridge.next(consumer; timeout = 0.1)
    # An auto-ack consumer with a Julia download handler, iterated.
    fetched = String[]
    dl(url, r, b, m, c) = (push!(fetched, url); _fetch_with_backoff(url, r, b, m, c))
    big = rand(UInt8, 20_000)
    NATSBridge.jetstream_publish(client, "nbjl.files", [("f", big, "binary")]; fileserver_url = files.url, size_threshold = 1000)
    auto = NATSBridge.jetstream_consumer(client, "NBJL", "jl-auto"; filter_subject = "nbjl.files",
                                         fileserver_download_handler = dl)
    for e in auto
        @test payload(e, "f")[2] == big
        break
    end
    @test length(fetched) == 1
    close(auto)
    # Envelopes that did not come from a consumer cannot be acked.
    @test_throws NATSBridge.InvalidArgument NATSBridge.ack!(smartreceive(json))
end

@testset "interop with the Rust command line" begin
    # Rust -> Julia.
    sub = NATSBridge.subscribe(client, "jl.interop.rust2jl")
    json_arg = "cfg={\"n\":7}"
    run(`$(natsbridge_bin()) send jl.interop.rust2jl -s $(nats.url) --text greeting=hello-from-rust --json-payload $(json_arg)`)
    env = NATSBridge.next(sub; timeout = 10)
    @test payload(env, "greeting")[2] == "hello-from-rust"
    @test payload(env, "cfg")[2] == Dict{String,Any}("n" => 7)
    close(sub)
    # Julia -> Rust -> Julia: the CLI echoes the request's payloads back (a blocking request:
    # the responder is another process).
    process, _ = start_cli(["reply", "jl.interop.echo", "-s", nats.url, "--echo", "--count", "1", "--ready"], "replying on")
    try
        df = DataFrame(id = [1, 2], name = ["a", "b"], score = [1.5, 2.5])
        rep = smartrequest(client, "jl.interop.echo", [("t", "echo me", "text"), ("d", Dict("x" => [1, 2]), "dictionary"),
                                                       ("tbl", df, "table"), ("b", BYTES, "binary")];
                           timeout = 10, blocking = true)
        @test payload(rep, "t")[2] == "echo me"
        @test json_equal(payload(rep, "d")[2], Dict{String,Any}("x" => Any[1, 2]))
        @test payload(rep, "tbl")[2].name == ["a", "b"] && payload(rep, "tbl")[2].score == [1.5, 2.5]
        @test payload(rep, "b")[2] == BYTES
    finally
        process_running(process) && kill(process)
    end
    # Julia -> Rust: the CLI prints what it received as JSON.
    process, out = start_cli(["listen", "jl.interop.jl2rust", "-s", nats.url, "--json", "--count", "1", "--ready"], "listening on")
    try
        smartsend(client, "jl.interop.jl2rust", [("t", "from julia", "text"), ("tbl", DataFrame(k = [1, 2]), "table"),
                                                 ("b", UInt8[1, 2, 3], "binary")])
        @test wait_until(() -> !process_running(process); timeout = 10)
        printed = readjson(readchomp(out))
        values = Dict(p["dataname"] => p["value"] for p in printed["payloads"])
        @test values["t"] == "from julia"
        @test json_equal(values["tbl"], Any[Dict{String,Any}("k" => 1), Dict{String,Any}("k" => 2)])
        @test values["b"] == Dict{String,Any}("base64" => base64encode(UInt8[1, 2, 3]))
    finally
        process_running(process) && kill(process)
    end
end

@testset "handles: close, finalizers, use after close" begin
    c2 = NATSBridge.connect(nats.url)
    s2 = NATSBridge.subscribe(c2, "jl.lifecycle")
    close(c2)                                   # ends its subscriptions
    @test !isopen(c2)
    @test_throws NATSBridge.Closed smartsend(c2, "jl.lifecycle", [("x", "y", "text")])
    @test_throws NATSBridge.Closed NATSBridge.next(s2; timeout = 1)
    close(c2)                                   # twice is fine
    close(s2)
    # Many short-lived handles freed by finalizers (options, payload lists, envelopes, clients).
    for _ in 1:50
        smartsend("jl.gc", [("x", "y", "text")]; is_publish = false)
    end
    for _ in 1:5
        NATSBridge.connect(nats.url)
        NATSBridge.subscribe(client, "jl.gc.sub")
    end
    GC.gc(true)
    GC.gc(true)
    @test isopen(client)
    # An envelope's library copy can be freed early; its Julia values stay.
    env = smartreceive(smartsend("s", [("x", "y", "text")]; is_publish = false)[2])
    close(env)
    close(env)
    @test payload(env, "x")[2] == "y"
    @test_throws NATSBridge.Closed NATSBridge.canonical_json(env)
    # Concurrent use and close of one subscription: the handle is freed once, after the last call.
    s3 = NATSBridge.subscribe(client, "jl.race")
    tasks = Task[]
    for _ in 1:4
        t = @async begin
            try
                NATSBridge.next(s3; timeout = 0.5)
            catch err
                err isa NATSBridge.Closed || rethrow()
                nothing
            end
        end
        push!(tasks, t)
    end
    sleep(0.05)
    close(s3)
    for t in tasks
        @test fetch(t) === nothing
    end
end

finally
    close(client)
    stop(nats)
    stop(files)
    stop(vector_files)
end

end # testset NATSBridge.jl
